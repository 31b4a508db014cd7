//! Consent in the model: who the user blocks (the server's list, shared by all their devices),
//! the room invitations waiting for their answer, and which collapsed messages from blocked
//! users they chose to show.
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Part};
use crate::protocol::{ConvId, Event, EventBody, Invitation, Seq, UserId};

impl ChatModel {
    /// A new session starts: the server lists the blocks and invitations again before
    /// `synced` (no `blocks` frame means nobody is blocked).
    pub(super) fn forget_consent(&mut self) {
        self.blocked.clear();
        self.invitations.clear();
        self.touch(Part::Consent);
    }

    /// The server's block list (the whole of it).
    pub(super) fn take_blocks(&mut self, users: Vec<UserId>) {
        self.blocked = users.into_iter().collect();
        self.touch(Part::Consent);
        self.touch(Part::Events);
    }

    /// A pending invitation arrived (again: it replaces the one held for that room).
    pub(super) fn take_invitation(&mut self, invitation: Invitation) {
        self.invitations.retain(|i| i.conv != invitation.conv);
        self.invitations.push(invitation);
        self.touch(Part::Consent);
    }

    /// An invitation was answered or withdrawn.
    pub(super) fn drop_invitation(&mut self, conv: ConvId) {
        self.invitations.retain(|i| i.conv != conv);
        self.touch(Part::Consent);
    }

    /// Whether the user blocks `user`.
    pub fn blocks(&self, user: UserId) -> bool {
        self.blocked.contains(&user)
    }

    /// Whether `event` is a message from a blocked user that shows collapsed.
    pub fn collapsed(&self, event: &Event) -> bool {
        matches!(event.body, EventBody::Message { .. })
            && self.blocks(event.from)
            && !self.revealed.contains(&(event.conv, event.seq))
    }

    /// Shows the collapsed message at `seq` of `conv`.
    pub fn reveal(&mut self, conv: ConvId, seq: Seq) {
        self.revealed.insert((conv, seq));
        self.touch(Part::Events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientMsgId, ServerFrame};

    fn message(from: i64, seq: i64) -> Event {
        Event {
            conv: ConvId(1),
            seq: Seq(seq),
            from: UserId(from),
            at: 0,
            body: EventBody::Message {
                client_msg_id: ClientMsgId(format!("m{seq}")),
                body: "hi".into(),
                reply_to: None,
            },
        }
    }

    #[test]
    fn a_blocked_users_messages_collapse_until_shown_and_the_list_is_the_servers() {
        let mut chat = ChatModel::default();
        chat.apply(ServerFrame::Blocks {
            users: vec![UserId(2)],
        });
        assert!(chat.collapsed(&message(2, 1)));
        assert!(!chat.collapsed(&message(3, 2)));
        chat.reveal(ConvId(1), Seq(1));
        assert!(!chat.collapsed(&message(2, 1)));
        assert!(chat.collapsed(&message(2, 3)));
        chat.apply(ServerFrame::Blocks { users: vec![] });
        assert!(!chat.collapsed(&message(2, 3)));
    }

    #[test]
    fn invitations_come_and_go_and_a_new_session_forgets_them_and_the_blocks() {
        let mut chat = ChatModel::default();
        let invitation = Invitation {
            conv: ConvId(7),
            name: "ops".into(),
            from: UserId(2),
            from_name: "ann".into(),
            at: 0,
        };
        chat.apply(ServerFrame::Invitation(invitation.clone()));
        chat.apply(ServerFrame::Invitation(invitation.clone()));
        assert_eq!(chat.invitations, vec![invitation]);
        chat.apply(ServerFrame::Uninvited { conv: ConvId(7) });
        assert!(chat.invitations.is_empty());
        chat.apply(ServerFrame::Blocks {
            users: vec![UserId(2)],
        });
        chat.forget_consent();
        assert!(!chat.blocks(UserId(2)));
    }
}
