//! What the person may do to a message, and the frames that do it: which message the Up arrow
//! edits, who may edit or delete what, and whether a click on a reaction adds or takes back.
//!
//! The frames go straight to the server (an edit, deletion or reaction is never in the outbox:
//! its result arrives as an event in the conversation's seq, and a refusal as the notice).
//!
//! Part of the pure model: depends only on `protocol` and the message states of `annotations`.

use super::{ChatModel, Effect, Effects, message_states};
use crate::protocol::{ClientFrame, ClientMsgId, ConvId, ConvKind, EventBody, Seq};

impl ChatModel {
    /// The newest message of `conv` the user sent and did not delete: what the Up arrow in an
    /// empty composer edits.
    pub fn last_own_message(&self, conv: ConvId) -> Option<Seq> {
        let me = self.me?;
        self.events.get(&conv)?.iter().rev().find_map(|(seq, e)| {
            (e.from == me && matches!(e.body, EventBody::Message { .. })).then_some(*seq)
        })
    }

    /// Whether the user may edit the message at `seq`: only their own, not deleted (the
    /// server also checks its edit window).
    pub fn may_edit(&self, conv: ConvId, seq: Seq) -> bool {
        self.me.is_some_and(|me| {
            self.events
                .get(&conv)
                .and_then(|l| l.get(&seq))
                .is_some_and(|e| e.from == me && matches!(e.body, EventBody::Message { .. }))
        })
    }

    /// Whether the user may delete the message at `seq`: their own, or any in a room they own.
    pub fn may_delete(&self, conv: ConvId, seq: Seq) -> bool {
        let Some(me) = self.me else { return false };
        let owner = self
            .conversations
            .iter()
            .any(|c| c.id == conv && c.kind == ConvKind::Room && c.peer == Some(me));
        self.events
            .get(&conv)
            .and_then(|l| l.get(&seq))
            .is_some_and(|e| matches!(e.body, EventBody::Message { .. }) && (owner || e.from == me))
    }

    /// Replaces the text of the message at `target`.
    pub fn edit(
        &mut self,
        conv: ConvId,
        target: Seq,
        body: String,
        client_msg_id: ClientMsgId,
    ) -> Effects {
        vec![Effect::Send(ClientFrame::Edit {
            client_msg_id,
            conv,
            target,
            body,
        })]
    }

    /// Deletes the message at `target`.
    pub fn delete(&mut self, conv: ConvId, target: Seq, client_msg_id: ClientMsgId) -> Effects {
        vec![Effect::Send(ClientFrame::Delete {
            client_msg_id,
            conv,
            target,
        })]
    }

    /// Adds the user's reaction `emoji` to the message at `target`, or takes it back when it is
    /// there already (as the page last heard).
    pub fn toggle_reaction(
        &mut self,
        conv: ConvId,
        target: Seq,
        emoji: String,
        client_msg_id: ClientMsgId,
    ) -> Effects {
        let mine = self.me.is_some_and(|me| {
            self.events
                .get(&conv)
                .and_then(|l| message_states(l).remove(&target))
                .is_some_and(|s| s.reactions.get(&emoji).is_some_and(|who| who.contains(&me)))
        });
        let frame = if mine {
            ClientFrame::Unreact {
                client_msg_id,
                conv,
                target,
                emoji,
            }
        } else {
            ClientFrame::React {
                client_msg_id,
                conv,
                target,
                emoji,
            }
        };
        vec![Effect::Send(frame)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ConvSummary, Epoch, Event, ServerFrame, UserId};

    const ME: UserId = UserId(1);
    const PEER: UserId = UserId(2);
    const ROOM: ConvId = ConvId(10);

    fn model(owner: UserId) -> ChatModel {
        let mut chat = ChatModel::default();
        chat.apply(ServerFrame::Hello {
            protocol: crate::protocol::PROTOCOL_VERSION,
            server_version: "test".into(),
            user: ME,
            heartbeat_ms: 20_000,
            epoch: Epoch("a".into()),
        });
        chat.apply(ServerFrame::Conversation(ConvSummary {
            id: ROOM,
            kind: ConvKind::Room,
            name: "general".into(),
            public: true,
            peer: Some(owner),
            last_seq: Seq(0),
            read_seq: Seq(0),
            epoch: Epoch("a".into()),
            notify: Default::default(),
            last_at: 0,
        }));
        chat
    }

    fn put(chat: &mut ChatModel, seq: i64, from: UserId, body: EventBody) {
        chat.apply(ServerFrame::Event(Event {
            conv: ROOM,
            seq: Seq(seq),
            from,
            at: seq,
            body,
        }));
    }

    fn say(chat: &mut ChatModel, seq: i64, from: UserId, text: &str) {
        let body = EventBody::Message {
            client_msg_id: ClientMsgId(format!("m{seq}")),
            body: text.into(),
            reply_to: None,
        };
        put(chat, seq, from, body);
    }

    #[test]
    fn the_up_arrow_edits_the_newest_own_message_still_there() {
        let mut chat = model(PEER);
        assert_eq!(chat.last_own_message(ROOM), None);
        say(&mut chat, 1, ME, "first");
        say(&mut chat, 2, ME, "second");
        say(&mut chat, 3, PEER, "theirs");
        let edit = EventBody::Edited {
            target: Seq(2),
            body: "second!".into(),
        };
        put(&mut chat, 4, ME, edit);
        assert_eq!(
            chat.last_own_message(ROOM),
            Some(Seq(2)),
            "an edit is not a message"
        );
        put(&mut chat, 5, ME, EventBody::Deleted { target: Seq(2) });
        assert_eq!(
            chat.last_own_message(ROOM),
            Some(Seq(1)),
            "a deleted one is skipped"
        );
    }

    #[test]
    fn edit_is_for_the_sender_and_delete_also_for_the_room_owner() {
        let mut chat = model(PEER);
        say(&mut chat, 1, ME, "mine");
        say(&mut chat, 2, PEER, "theirs");
        assert!(chat.may_edit(ROOM, Seq(1)) && !chat.may_edit(ROOM, Seq(2)));
        assert!(chat.may_delete(ROOM, Seq(1)) && !chat.may_delete(ROOM, Seq(2)));
        assert!(!chat.may_edit(ROOM, Seq(9)) && !chat.may_delete(ROOM, Seq(9)));

        let mut owned = model(ME);
        say(&mut owned, 1, PEER, "theirs");
        assert!(owned.may_delete(ROOM, Seq(1)), "the owner deletes anyone's");
        assert!(!owned.may_edit(ROOM, Seq(1)), "but edits nobody else's");
        put(&mut owned, 2, ME, EventBody::Deleted { target: Seq(1) });
        assert!(!owned.may_delete(ROOM, Seq(1)), "nothing left to delete");
    }

    #[test]
    fn a_reaction_click_adds_then_takes_back() {
        let mut chat = model(PEER);
        say(&mut chat, 1, PEER, "hi");
        let id = || ClientMsgId("r".into());
        let react = chat.toggle_reaction(ROOM, Seq(1), "👍".into(), id());
        assert!(
            matches!(&react[..], [Effect::Send(ClientFrame::React { emoji, .. })] if emoji == "👍")
        );
        let body = EventBody::Reacted {
            target: Seq(1),
            emoji: "👍".into(),
        };
        put(&mut chat, 2, PEER, body.clone());
        let still = chat.toggle_reaction(ROOM, Seq(1), "👍".into(), id());
        assert!(
            matches!(&still[..], [Effect::Send(ClientFrame::React { .. })]),
            "someone else's reaction is not mine"
        );
        put(&mut chat, 3, ME, body);
        let back = chat.toggle_reaction(ROOM, Seq(1), "👍".into(), id());
        assert!(
            matches!(&back[..], [Effect::Send(ClientFrame::Unreact { emoji, .. })] if emoji == "👍")
        );
        let edit = chat.edit(ROOM, Seq(1), "x".into(), id());
        assert!(matches!(
            &edit[..],
            [Effect::Send(ClientFrame::Edit { target: Seq(1), .. })]
        ));
        let delete = chat.delete(ROOM, Seq(1), id());
        assert!(matches!(
            &delete[..],
            [Effect::Send(ClientFrame::Delete { target: Seq(1), .. })]
        ));
    }
}
