//! Unit tests of the reducer: frames in, state and effects out, natively.

use super::*;
use crate::protocol::{ErrorCode, EventBody, FrameType, ServerFrame};

const ME: UserId = UserId(1);
const PEER: UserId = UserId(2);
const ROOM: ConvId = ConvId(10);

fn epoch(name: &str) -> Epoch {
    Epoch(name.into())
}

pub(super) fn hello(epoch: Epoch) -> ServerFrame {
    ServerFrame::Hello {
        protocol: crate::protocol::PROTOCOL_VERSION,
        server_version: "test".into(),
        user: ME,
        heartbeat_ms: 20_000,
        epoch,
    }
}

fn summary(id: ConvId, read: i64) -> ConvSummary {
    ConvSummary {
        id,
        kind: ConvKind::Room,
        name: "general".into(),
        public: true,
        peer: None,
        last_seq: Seq(0),
        read_seq: Seq(read),
        epoch: epoch("a"),
        notify: Default::default(),
        last_at: 0,
    }
}

fn event(seq: i64, from: UserId, body: EventBody) -> ServerFrame {
    ServerFrame::Event(Event {
        conv: ROOM,
        seq: Seq(seq),
        from,
        at: seq * 1000,
        body,
    })
}

fn message(seq: i64, from: UserId, id: &str) -> ServerFrame {
    event(
        seq,
        from,
        EventBody::Message {
            client_msg_id: ClientMsgId(id.into()),
            body: format!("text {seq}"),
            reply_to: None,
        },
    )
}

/// A model greeted in epoch "a", holding the room.
fn greeted() -> ChatModel {
    let mut chat = ChatModel::default();
    chat.apply(hello(epoch("a")));
    chat.apply(ServerFrame::Conversation(summary(ROOM, 0)));
    chat
}

/// [`greeted`], then these messages (seq, sender, id) in this order.
fn greeted_with(messages: &[(i64, UserId, &str)]) -> ChatModel {
    let mut chat = greeted();
    for &(seq, from, id) in messages {
        chat.apply(message(seq, from, id));
    }
    chat
}

fn seqs(chat: &ChatModel) -> Vec<i64> {
    chat.events
        .get(&ROOM)
        .map(|l| l.keys().map(|s| s.0).collect())
        .unwrap_or_default()
}

fn member(user: UserId, online: bool) -> Member {
    Member {
        user,
        username: format!("u{}", user.0),
        display_name: format!("User {}", user.0),
        online,
    }
}

#[test]
fn messages_are_kept_in_seq_order_and_a_repeated_seq_is_kept_once() {
    let chat = greeted_with(&[(1, PEER, "a"), (2, PEER, "b"), (2, PEER, "b")]);
    assert_eq!(seqs(&chat), vec![1, 2]);
    assert_eq!(
        chat.cursors(),
        vec![Cursor {
            conv: ROOM,
            seq: Seq(2)
        }]
    );
}

#[test]
fn a_gap_is_filled_in_place_by_history() {
    let mut chat = greeted();
    chat.apply(message(1, PEER, "a"));
    chat.apply(message(4, PEER, "d"));
    assert_eq!(seqs(&chat), vec![1, 4]);
    chat.apply(ServerFrame::History {
        conv: ROOM,
        events: [2, 3]
            .map(|seq| {
                let ServerFrame::Event(e) = message(seq, PEER, "x") else {
                    unreachable!()
                };
                e
            })
            .to_vec(),
        more: false,
    });
    assert_eq!(seqs(&chat), vec![1, 2, 3, 4]);
    assert_eq!(chat.first_seq(ROOM), Some(Seq(1)));
    assert_eq!(chat.last_seq(ROOM), Some(Seq(4)));
}

#[test]
fn older_history_is_asked_for_once_and_the_answer_clears_the_request() {
    let mut chat = greeted();
    chat.apply(message(5, PEER, "e"));
    assert_eq!(
        chat.load_older(ROOM),
        vec![Effect::Send(ClientFrame::History {
            conv: ROOM,
            before: Seq(5),
            limit: RECENT_PAGE,
        })]
    );
    assert_eq!(chat.load_older(ROOM), vec![]);
    chat.apply(ServerFrame::History {
        conv: ROOM,
        events: vec![],
        more: false,
    });
    assert!(chat.loading.is_empty());
    // Nothing is older than seq 1.
    let mut first = greeted();
    first.apply(message(1, PEER, "a"));
    assert_eq!(first.load_older(ROOM), vec![]);
}

#[test]
fn another_epoch_forgets_everything_by_seq_but_keeps_the_outbox() {
    let mut chat = greeted();
    chat.apply(message(3, PEER, "c"));
    chat.post(ROOM, "mine".into(), ClientMsgId("m1".into()));
    chat.apply(ServerFrame::Ack {
        client_msg_id: ClientMsgId("m1".into()),
        conv: ROOM,
        seq: Seq(4),
    });
    // The same epoch again (a reconnect): nothing is forgotten.
    chat.apply(hello(epoch("a")));
    assert_eq!(seqs(&chat), vec![3]);
    assert!(chat.outbox[0].acked);

    let effects = chat.apply(hello(epoch("b")));
    assert!(matches!(effects.as_slice(), [Effect::Log(_)]));
    assert!(chat.events.is_empty() && chat.conversations.is_empty());
    assert!(chat.cursors().is_empty());
    assert_eq!(chat.outbox.len(), 1);
    assert!(!chat.outbox[0].acked);
    assert_eq!(
        chat.opening(),
        vec![
            ClientFrame::Resume { cursors: vec![] },
            ClientFrame::Send {
                client_msg_id: ClientMsgId("m1".into()),
                conv: ROOM,
                body: "mine".into(),
                reply_to: None,
            },
        ]
    );
}

#[test]
fn a_first_paint_seeds_without_replacing_what_the_socket_sent() {
    let mut chat = ChatModel::default();
    chat.apply(hello(epoch("a")));
    chat.apply(message(2, PEER, "live"));
    let ServerFrame::Event(painted) = message(2, PEER, "painted") else {
        unreachable!()
    };
    chat.seed(&ChatSnapshot {
        me: ME,
        username: "me_user".into(),
        conversations: vec![summary(ROOM, 0)],
        members: Some((ROOM, vec![member(PEER, true)])),
        events: vec![painted],
        epoch: epoch("a"),
    });
    assert_eq!(chat.conversations.len(), 1);
    let kept = &chat.events[&ROOM][&Seq(2)];
    assert!(
        matches!(&kept.body, EventBody::Message { client_msg_id, .. } if client_msg_id.0 == "live")
    );
    assert_eq!(chat.name_of(ROOM, PEER), "User 2");
}

#[test]
fn membership_events_refresh_a_known_member_list_and_renames_rename() {
    let mut chat = greeted();
    // No member list held yet: nothing to refresh.
    assert_eq!(chat.apply(event(1, PEER, EventBody::Joined {})), vec![]);
    chat.apply(ServerFrame::Members {
        conv: ROOM,
        members: vec![member(ME, true), member(PEER, false)],
        more: true,
    });
    assert!(chat.crowded.contains(&ROOM));
    assert!(chat.online.contains(&ME) && !chat.online.contains(&PEER));
    for body in [
        EventBody::Joined {},
        EventBody::Invited { user: UserId(3) },
        EventBody::Left {},
        EventBody::Removed { user: UserId(3) },
    ] {
        let mut fresh = greeted();
        fresh.apply(ServerFrame::Members {
            conv: ROOM,
            members: vec![member(ME, true)],
            more: false,
        });
        assert_eq!(
            fresh.apply(event(2, PEER, body)),
            vec![Effect::RefreshMembers(ROOM)]
        );
    }
    chat.apply(event(
        2,
        PEER,
        EventBody::Renamed {
            name: "lounge".into(),
        },
    ));
    assert_eq!(chat.conversations[0].name, "lounge");
    assert_eq!(seqs(&chat), vec![1, 2]);
    chat.apply(ServerFrame::Gone { conv: ROOM });
    assert!(chat.conversations.is_empty());
}

#[test]
fn unread_counts_follow_read_marks_from_here_and_elsewhere() {
    let mut chat = greeted_with(&[(1, PEER, "a"), (2, ME, "mine"), (3, PEER, "c")]);
    // The user's own message never counts.
    assert_eq!(chat.unread(ROOM), 2);
    assert_eq!(
        chat.mark_read(ROOM, Seq(1)),
        vec![Effect::Send(ClientFrame::Read {
            conv: ROOM,
            seq: Seq(1)
        })]
    );
    assert_eq!(chat.unread(ROOM), 1);
    // A mark behind the one held is not sent.
    assert_eq!(chat.mark_read(ROOM, Seq(1)), vec![]);
    // Another device read further; an older read state does not move it back.
    chat.apply(ServerFrame::ReadState {
        conv: ROOM,
        seq: Seq(3),
    });
    chat.apply(ServerFrame::ReadState {
        conv: ROOM,
        seq: Seq(2),
    });
    assert_eq!(chat.conversations[0].read_seq, Seq(3));
    assert_eq!(chat.unread(ROOM), 0);
    assert_eq!(chat.unread(ConvId(99)), 0);
}

#[test]
fn mentions_of_the_user_count_apart_among_the_unread() {
    let mut chat = greeted();
    let said = |seq: i64, from: UserId, body: &str| {
        event(
            seq,
            from,
            EventBody::Message {
                client_msg_id: ClientMsgId(format!("m{seq}")),
                body: body.into(),
                reply_to: None,
            },
        )
    };
    for frame in [
        said(1, PEER, "hi @Me_User"),
        said(2, PEER, "no mention, nor `@me_user` in code"),
        said(3, ME, "@me_user myself"),
        said(4, PEER, "again, @me_user."),
    ] {
        chat.apply(frame);
    }
    // Without a username (no first paint yet) nothing counts as a mention.
    assert_eq!(chat.unread_mentions(ROOM), 0);
    chat.set_username("me_user");
    assert_eq!((chat.unread(ROOM), chat.unread_mentions(ROOM)), (3, 2));
    chat.mark_read(ROOM, Seq(2));
    assert_eq!((chat.unread(ROOM), chat.unread_mentions(ROOM)), (1, 1));
    chat.mark_read(ROOM, Seq(4));
    assert_eq!(chat.unread_mentions(ROOM), 0);
}

#[test]
fn an_edit_or_a_deletion_changes_whether_an_unread_message_mentions_the_user() {
    let mut chat = greeted();
    chat.set_username("me_user");
    let message = |seq: i64, body: &str| EventBody::Message {
        client_msg_id: ClientMsgId(format!("m{seq}")),
        body: body.into(),
        reply_to: None,
    };
    let edit = |target: i64, body: &str| EventBody::Edited {
        target: Seq(target),
        body: body.into(),
    };
    chat.apply(event(1, PEER, message(1, "hello")));
    chat.apply(event(2, PEER, message(2, "@me_user look")));
    assert_eq!(chat.unread_mentions(ROOM), 1);
    // The first gains a mention, the second loses its own: still one, but the other one.
    chat.apply(event(3, PEER, edit(1, "hello @me_user")));
    chat.apply(event(4, PEER, edit(2, "look")));
    assert_eq!(chat.unread_mentions(ROOM), 1);
    chat.apply(event(5, PEER, edit(2, "look, @me_user")));
    assert_eq!(chat.unread_mentions(ROOM), 2);
    chat.apply(event(6, PEER, EventBody::Deleted { target: Seq(1) }));
    assert_eq!((chat.unread(ROOM), chat.unread_mentions(ROOM)), (1, 1));
}

#[test]
fn the_outbox_follows_acks_echoes_and_refusals_by_message_id() {
    let mut chat = greeted();
    let (one, two) = (ClientMsgId("m1".into()), ClientMsgId("m2".into()));
    chat.post(ROOM, "first".into(), one.clone());
    chat.post(ROOM, "second".into(), two.clone());
    chat.apply(ServerFrame::Ack {
        client_msg_id: two.clone(),
        conv: ROOM,
        seq: Seq(1),
    });
    assert_eq!(
        chat.outbox.iter().map(|p| p.acked).collect::<Vec<_>>(),
        vec![false, true]
    );
    // Someone else's message with the same id is not the user's echo.
    chat.apply(message(1, PEER, "m2"));
    assert_eq!(chat.outbox.len(), 2);
    chat.apply(message(2, ME, "m2"));
    assert_eq!(chat.outbox.len(), 1);
    chat.apply(ServerFrame::Error {
        code: ErrorCode::RateLimited,
        message: "slow down".into(),
        client_msg_id: Some(one.clone()),
        refused: Some(FrameType::Send),
        retry_after_ms: None,
    });
    assert_eq!(
        chat.outbox[0].failed.as_deref(),
        Some("Too many messages at once — wait a moment")
    );
    // A refused message is not resent on reconnect, only by retry.
    assert!(chat.unsent().is_empty());
    assert_eq!(chat.retry(&one).len(), 1);
    assert_eq!(chat.unsent().len(), 1);
    chat.discard(&one);
    assert!(chat.outbox.is_empty());
    assert_eq!(chat.notice, None);
}

#[test]
fn typing_shows_until_its_own_timer_or_the_typists_message() {
    let mut chat = greeted();
    let typing = ServerFrame::Typing {
        conv: ROOM,
        user: PEER,
    };
    let [Effect::ExpireTyping { stamp: first, .. }] = chat.apply(typing.clone())[..] else {
        panic!("a typing notice starts its timer");
    };
    let [Effect::ExpireTyping { stamp: second, .. }] = chat.apply(typing.clone())[..] else {
        panic!("a typing notice starts its timer");
    };
    // The first notice's timer does not clear the second.
    chat.expire_typing(ROOM, first);
    assert!(chat.typing.contains_key(&ROOM));
    chat.expire_typing(ROOM, second);
    assert!(chat.typing.is_empty());
    chat.apply(typing);
    chat.apply(message(1, ME, "mine"));
    assert!(
        chat.typing.contains_key(&ROOM),
        "only the typist's message ends it"
    );
    chat.apply(message(2, PEER, "theirs"));
    assert!(chat.typing.is_empty());
}

#[test]
fn presence_and_names() {
    let mut chat = greeted();
    chat.apply(ServerFrame::Presence {
        user: PEER,
        online: true,
    });
    assert!(chat.online.contains(&PEER));
    chat.apply(ServerFrame::Presence {
        user: PEER,
        online: false,
    });
    assert!(chat.online.is_empty());
    assert_eq!(chat.name_of(ROOM, ME), "You");
    // Never an id: someone not learnt yet is "someone"; a name learnt anywhere serves
    // everywhere.
    assert_eq!(chat.name_of(ROOM, PEER), "someone");
    let direct = ConvSummary {
        kind: ConvKind::Direct,
        name: "Pat".into(),
        peer: Some(PEER),
        ..summary(ConvId(11), 0)
    };
    chat.apply(ServerFrame::Conversation(direct));
    assert_eq!(chat.name_of(ConvId(11), PEER), "Pat");
    assert_eq!(chat.name_of(ROOM, PEER), "Pat");
}

#[test]
fn an_update_names_the_parts_it_changed() {
    let mut chat = greeted();
    chat.take_changed();
    chat.apply(ServerFrame::Presence {
        user: PEER,
        online: true,
    });
    let changed = chat.take_changed();
    assert!(changed.contains(Part::Online));
    assert!(!changed.contains(Part::Events) && !changed.contains(Part::Conversations));
    chat.apply(message(1, PEER, "a"));
    let changed = chat.take_changed();
    assert!(changed.contains(Part::Events));
    assert_eq!(chat.take_changed(), Parts::default());
}
