//! Unit tests of what notifies: live messages from others, after `synced`, as the settings
//! and "do not disturb" (from the server, reset at each hello) allow; and the title's count.

use super::{tests::hello, *};
use crate::protocol::{EventBody, NotifyLevel, NotifySettings, ServerFrame};

const ME: UserId = UserId(1);
const PEER: UserId = UserId(2);
const ROOM: ConvId = ConvId(10);
const DIRECT: ConvId = ConvId(11);

fn summary(id: ConvId, kind: ConvKind) -> ConvSummary {
    ConvSummary {
        id,
        kind,
        name: if kind == ConvKind::Room {
            "general"
        } else {
            "Pat"
        }
        .into(),
        public: true,
        peer: Some(PEER),
        last_seq: Seq(0),
        read_seq: Seq(0),
        epoch: Epoch("a".into()),
        notify: NotifySettings::default(),
        last_at: 0,
    }
}

fn said(conv: ConvId, seq: i64, from: UserId, body: &str) -> ServerFrame {
    ServerFrame::Event(Event {
        conv,
        seq: Seq(seq),
        from,
        at: seq * 1000,
        body: EventBody::Message {
            client_msg_id: ClientMsgId(format!("m{seq}")),
            body: body.into(),
            reply_to: None,
        },
    })
}

/// Greeted, holding the room and the direct conversation, username `me_user`; `synced` when
/// `live`.
fn model(live: bool) -> ChatModel {
    let mut chat = ChatModel::default();
    chat.apply(hello(Epoch("a".into())));
    chat.set_username("me_user");
    chat.apply(ServerFrame::Conversation(summary(ROOM, ConvKind::Room)));
    chat.apply(ServerFrame::Conversation(summary(DIRECT, ConvKind::Direct)));
    if live {
        chat.apply(ServerFrame::Synced {});
    }
    chat
}

fn notifies(effects: &[Effect]) -> Vec<(ConvId, i64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify { conv, seq } => Some((*conv, seq.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn by_default_direct_messages_and_mentions_notify_live_only() {
    let mut chat = model(false);
    // Replayed before `synced`: nothing notifies.
    assert!(notifies(&chat.apply(said(DIRECT, 1, PEER, "while away"))).is_empty());
    chat.apply(ServerFrame::Synced {});
    assert_eq!(
        notifies(&chat.apply(said(DIRECT, 2, PEER, "hi"))),
        [(DIRECT, 2)]
    );
    assert!(notifies(&chat.apply(said(ROOM, 1, PEER, "hello all"))).is_empty());
    assert_eq!(
        notifies(&chat.apply(said(ROOM, 2, PEER, "@me_user look"))),
        [(ROOM, 2)]
    );
    // Own messages, repeats and messages already read never do.
    assert!(notifies(&chat.apply(said(DIRECT, 3, ME, "@me_user"))).is_empty());
    assert!(notifies(&chat.apply(said(DIRECT, 2, PEER, "hi"))).is_empty());
    chat.mark_read(DIRECT, Seq(9));
    assert!(notifies(&chat.apply(said(DIRECT, 4, PEER, "read already"))).is_empty());
    // What it says.
    let note = chat.notification(ROOM, Seq(2)).expect("held");
    assert_eq!(
        (note.title.as_str(), note.body.as_str()),
        ("Pat in general", "@me_user look")
    );
    assert_eq!(
        chat.notification(DIRECT, Seq(2)).expect("held").title,
        "Pat"
    );
}

#[test]
fn levels_mute_and_do_not_disturb_follow_the_server() {
    let mut chat = model(true);
    chat.apply(ServerFrame::Notify {
        conv: ROOM,
        level: NotifyLevel::All,
        muted: false,
    });
    assert_eq!(
        notifies(&chat.apply(said(ROOM, 1, PEER, "any"))),
        [(ROOM, 1)]
    );
    chat.apply(ServerFrame::Notify {
        conv: DIRECT,
        level: NotifyLevel::All,
        muted: true,
    });
    assert!(notifies(&chat.apply(said(DIRECT, 1, PEER, "@me_user"))).is_empty());
    chat.apply(ServerFrame::DoNotDisturb { on: true });
    assert!(notifies(&chat.apply(said(ROOM, 2, PEER, "@me_user"))).is_empty());
    // A new hello starts with it off, until the server says otherwise before `synced`.
    chat.apply(hello(Epoch("a".into())));
    assert!(!chat.do_not_disturb);
    chat.apply(ServerFrame::Synced {});
    assert_eq!(
        notifies(&chat.apply(said(ROOM, 3, PEER, "back"))),
        [(ROOM, 3)]
    );
}

#[test]
fn the_title_counts_a_muted_conversation_by_its_mentions_only() {
    let mut chat = model(true);
    chat.apply(said(ROOM, 1, PEER, "one"));
    chat.apply(said(ROOM, 2, PEER, "@me_user two"));
    chat.apply(said(DIRECT, 1, PEER, "three"));
    assert_eq!(chat.unread_total(), 3);
    let effects = chat.set_notify(
        ROOM,
        NotifySettings {
            level: NotifyLevel::Mentions,
            muted: true,
        },
    );
    assert_eq!(
        effects,
        [Effect::Send(ClientFrame::Notify {
            conv: ROOM,
            level: NotifyLevel::Mentions,
            muted: true
        })]
    );
    assert!(chat.notify_settings(ROOM).muted, "shown at once");
    assert_eq!(chat.unread_total(), 2);
}

#[test]
fn a_sender_not_named_yet_notifies_once_the_member_list_names_them() {
    let mut chat = model(true);
    let newcomer = UserId(3);
    let effects = chat.apply(said(ROOM, 1, newcomer, "@me_user hello"));
    assert!(notifies(&effects).is_empty(), "{effects:?}");
    assert!(effects.contains(&Effect::Send(ClientFrame::Members { conv: ROOM })));
    // A second one waits too, without asking again.
    let effects = chat.apply(said(ROOM, 2, newcomer, "@me_user still there?"));
    assert!(effects.is_empty(), "{effects:?}");
    let effects = chat.apply(ServerFrame::Members {
        conv: ROOM,
        members: vec![Member {
            user: newcomer,
            username: "newcomer".into(),
            display_name: "Nia".into(),
            online: true,
        }],
        more: false,
    });
    assert_eq!(notifies(&effects), [(ROOM, 1), (ROOM, 2)]);
    assert_eq!(
        chat.notification(ROOM, Seq(1)).expect("held").title,
        "Nia in general"
    );
}
