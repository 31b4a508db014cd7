//! Opening what the person just started: a direct conversation, a room they created, joined or
//! accepted an invitation to. The request is remembered until the `conversation` frame it leads
//! to arrives, and then the model asks the page to show it ([`Effect::Open`]); a refusal
//! forgets it. Only the latest request counts: starting something else forgets the one before.
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
    /// leads to should open when its `conversation` frame arrives. The server sends one also
    /// for a conversation the page holds already (a direct conversation started again, a room
    /// one is in), and none for a refused request, which therefore opens nothing.
    pub fn expect_open(&mut self, frame: &ClientFrame) -> Effects {
        self.awaited = match frame {
            ClientFrame::OpenDirect { user } => Some(Awaited::Direct(*user)),
            ClientFrame::CreateRoom { name, .. } => Some(Awaited::Created(name.clone())),
            ClientFrame::JoinRoom { conv } | ClientFrame::Accept { conv } => {
                Some(Awaited::Room(*conv))
            }
            _ => return Vec::new(),
        };
        Vec::new()
    }

    /// The request that was to open something was refused: nothing will open.
    pub(super) fn forget_awaited(&mut self) {
        self.awaited = None;
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
            notify: Default::default(),
            last_at: 0,
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
        // A direct conversation started again opens when the server sends it again; a refused
        // start opens nothing, even if the conversation comes later.
        let start = ClientFrame::OpenDirect { user: UserId(2) };
        assert!(chat.expect_open(&start).is_empty());
        let again = summary(5, ConvKind::Direct, "Ben", Some(2));
        assert_eq!(
            chat.apply(ServerFrame::Conversation(again.clone())),
            vec![Effect::Open(ConvId(5))]
        );
        chat.expect_open(&start);
        chat.apply(ServerFrame::Error {
            code: crate::protocol::ErrorCode::Blocked,
            message: "no".into(),
            client_msg_id: None,
            refused: Some(crate::protocol::FrameType::OpenDirect),
            retry_after_ms: None,
        });
        assert!(chat.apply(ServerFrame::Conversation(again)).is_empty());
        let join = ClientFrame::JoinRoom { conv: ConvId(9) };
        assert!(chat.expect_open(&join).is_empty());
        let joined = summary(9, ConvKind::Room, "lobby", None);
        assert_eq!(
            chat.apply(ServerFrame::Conversation(joined)),
            vec![Effect::Open(ConvId(9))]
        );
        // Frames that start nothing expect nothing.
        assert!(chat.expect_open(&ClientFrame::Ping { nonce: 1 }).is_empty());
    }
}
