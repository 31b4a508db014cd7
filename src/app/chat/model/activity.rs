//! Recent activity: when each conversation last moved, and the sidebar's two sections (rooms,
//! direct messages) ordered by it, newest first.
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Part};
use crate::protocol::{ConvId, ConvKind, ConvSummary};

/// The user's conversations as the sidebar lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sections {
    /// Rooms, most recently active first.
    pub rooms: Vec<ConvSummary>,
    /// Direct conversations, most recently active first.
    pub direct: Vec<ConvSummary>,
}

impl ChatModel {
    /// Rooms and direct conversations, each newest activity first (ties: the newer
    /// conversation first, so the order is the same on every device).
    pub fn sections(&self) -> Sections {
        let mut sections = Sections::default();
        for c in &self.conversations {
            match c.kind {
                ConvKind::Room => sections.rooms.push(c.clone()),
                ConvKind::Direct => sections.direct.push(c.clone()),
            }
        }
        for list in [&mut sections.rooms, &mut sections.direct] {
            list.sort_by(|a, b| b.last_at.cmp(&a.last_at).then(b.id.cmp(&a.id)));
        }
        sections
    }

    /// `conv` had an event at `at`: it moves up if that is newer than what it had.
    pub(super) fn note_activity(&mut self, conv: ConvId, at: i64) {
        if let Some(c) = self.summary_mut(conv)
            && at > c.last_at
        {
            c.last_at = at;
            self.touch(Part::Conversations);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientMsgId, Epoch, Event, EventBody, Seq, ServerFrame, UserId};

    fn summary(id: i64, kind: ConvKind, last_at: i64) -> ConvSummary {
        ConvSummary {
            id: ConvId(id),
            kind,
            name: format!("c{id}"),
            public: true,
            peer: (kind == ConvKind::Direct).then_some(UserId(100 + id)),
            last_seq: Seq(0),
            read_seq: Seq(0),
            epoch: Epoch("e".into()),
            notify: Default::default(),
            last_at,
        }
    }

    fn ids(list: &[ConvSummary]) -> Vec<i64> {
        list.iter().map(|c| c.id.0).collect()
    }

    fn model() -> ChatModel {
        let mut chat = ChatModel::default();
        chat.apply(super::super::tests::hello(Epoch("e".into())));
        for (id, kind, at) in [
            (1, ConvKind::Room, 50),
            (2, ConvKind::Direct, 10),
            (3, ConvKind::Room, 70),
            (4, ConvKind::Direct, 90),
            (5, ConvKind::Room, 50),
        ] {
            chat.apply(ServerFrame::Conversation(summary(id, kind, at)));
        }
        chat
    }

    #[test]
    fn rooms_and_direct_conversations_are_apart_newest_first() {
        let chat = model();
        let sections = chat.sections();
        assert_eq!(ids(&sections.rooms), [3, 5, 1]);
        assert_eq!(ids(&sections.direct), [4, 2]);
    }

    #[test]
    fn a_new_event_moves_its_conversation_up_and_an_old_one_does_not() {
        let mut chat = model();
        chat.take_changed();
        let event = |conv, seq, at| {
            ServerFrame::Event(Event {
                conv: ConvId(conv),
                seq: Seq(seq),
                from: UserId(7),
                at,
                body: EventBody::Message {
                    body: "hi".into(),
                    client_msg_id: ClientMsgId(format!("m{seq}")),
                    reply_to: None,
                },
            })
        };
        chat.apply(event(1, 1, 80));
        assert!(chat.take_changed().contains(Part::Conversations));
        assert_eq!(ids(&chat.sections().rooms), [1, 3, 5]);
        // History from long ago changes nothing.
        chat.apply(event(2, 1, 5));
        assert_eq!(ids(&chat.sections().direct), [4, 2]);
        // A refresh of the summary keeps the newer of the two times.
        chat.apply(ServerFrame::Conversation(summary(1, ConvKind::Room, 60)));
        assert_eq!(ids(&chat.sections().rooms), [1, 3, 5]);
    }
}
