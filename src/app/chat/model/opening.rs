//! Opening what the person just started: a direct conversation, a room they created, joined or
//! accepted an invitation to. The request is remembered until the `conversation` frame it leads
//! to arrives (or at once, when the page already holds that conversation), and then the model
//! asks the page to show it ([`Effect::Open`]). Only the latest request counts: starting
//! something else forgets the one before.
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Effect, Effects};
use crate::protocol::{ClientFrame, ConvId, ConvKind, ConvSummary, UserId};

/// A request whose conversation should open when it arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Awaited {
    /// The direct conversation with this user.
    Direct(UserId),
    /// A room of this name (as sent; the server trims it), created by the user.
    Created(String),
    /// This room, joined or accepted.
    Room(ConvId),
}

impl Awaited {
    fn matches(&self, summary: &ConvSummary) -> bool {
        match self {
            Self::Direct(user) => summary.kind == ConvKind::Direct && summary.peer == Some(*user),
            Self::Created(name) => summary.kind == ConvKind::Room && summary.name == name.trim(),
            Self::Room(conv) => summary.id == *conv,
        }
    }
}

impl ChatModel {
    /// `frame` is about to be sent for the person: if it starts a conversation, the one it
    /// leads to should open. A direct conversation or room the page holds already opens now.
    pub fn expect_open(&mut self, frame: &ClientFrame) -> Effects {
        let awaited = match frame {
            ClientFrame::OpenDirect { user } => Awaited::Direct(*user),
            ClientFrame::CreateRoom { name, .. } => Awaited::Created(name.clone()),
            ClientFrame::JoinRoom { conv } | ClientFrame::Accept { conv } => Awaited::Room(*conv),
            _ => return Vec::new(),
        };
        // A new room of a name one already has is still new: only wait for it.
        let held = match &awaited {
            Awaited::Created(_) => None,
            other => self.conversations.iter().find(|c| other.matches(c)),
        };
        if let Some(summary) = held {
            self.awaited = None;
            return vec![Effect::Open(summary.id)];
        }
        self.awaited = Some(awaited);
        Vec::new()
    }

    /// A `conversation` frame arrived: open it if it is the one awaited.
    pub(super) fn arrived(&mut self, summary: &ConvSummary) -> Effects {
        if self.awaited.as_ref().is_some_and(|a| a.matches(summary)) {
            self.awaited = None;
            vec![Effect::Open(summary.id)]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Epoch, Seq, ServerFrame};

    fn summary(id: i64, kind: ConvKind, name: &str, peer: Option<i64>) -> ConvSummary {
        ConvSummary {
            id: ConvId(id),
            kind,
            name: name.into(),
            public: true,
            peer: peer.map(UserId),
            last_seq: Seq(1),
            read_seq: Seq(0),
            epoch: Epoch::default(),
        }
    }

    #[test]
    fn what_the_person_started_opens_when_it_arrives_and_nothing_else_does() {
        let mut chat = ChatModel::default();
        let create = ClientFrame::CreateRoom {
            name: "  plans ".into(),
            public: true,
        };
        assert!(chat.expect_open(&create).is_empty());
        // Someone else's new room, or a DM arriving meanwhile, opens nothing.
        let other = summary(4, ConvKind::Room, "other", None);
        assert!(chat.apply(ServerFrame::Conversation(other)).is_empty());
        let dm = summary(5, ConvKind::Direct, "Ben", Some(2));
        assert!(chat.apply(ServerFrame::Conversation(dm)).is_empty());
        let mine = summary(6, ConvKind::Room, "plans", None);
        assert_eq!(
            chat.apply(ServerFrame::Conversation(mine.clone())),
            vec![Effect::Open(ConvId(6))]
        );
        // Once only.
        assert!(chat.apply(ServerFrame::Conversation(mine)).is_empty());
        // A direct conversation the page holds opens at once; a room to join when it arrives.
        let start = ClientFrame::OpenDirect { user: UserId(2) };
        assert_eq!(chat.expect_open(&start), vec![Effect::Open(ConvId(5))]);
        assert!(
            chat.expect_open(&ClientFrame::JoinRoom { conv: ConvId(9) })
                .is_empty()
        );
        let joined = summary(9, ConvKind::Room, "lobby", None);
        assert_eq!(
            chat.apply(ServerFrame::Conversation(joined)),
            vec![Effect::Open(ConvId(9))]
        );
        // Frames that start nothing expect nothing.
        assert!(chat.expect_open(&ClientFrame::Ping { nonce: 1 }).is_empty());
    }
}
