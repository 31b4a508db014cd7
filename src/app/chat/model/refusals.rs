//! How the page paces what it sends on its own, and what it does when the server says no.
//!
//! A person never trips the server's budgets (see `docs/PROTOCOL.md`, rate limits) through
//! things the page does for them: member-list refreshes, which follow membership events and
//! could otherwise track a busy room's joins and leaves, are coalesced per conversation: the
//! first starts a short wait ([`Effect::RefreshMembers`]) and, when it ends, one refresh is
//! sent. (Read marks go out at once: one held back was lost when the page was left right
//! after.) Refusals of such background frames are logged, never shown; refusals of what the
//! person asked for (joining a room, sending a message) are.
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Effect, Effects, Part};
use crate::protocol::{ClientFrame, ClientMsgId, ConvId, ErrorCode, FrameType};

impl ChatModel {
    /// Asks for `conv`'s members after a pause, unless a refresh of them is already waiting:
    /// that one covers this one too.
    pub(super) fn refresh_members(&mut self, conv: ConvId) -> Effects {
        if self.gathering.insert(conv) {
            vec![Effect::RefreshMembers(conv)]
        } else {
            Vec::new()
        }
    }

    /// The pause before `conv`'s member-list refresh is over: the refresh to send.
    pub fn members_due(&mut self, conv: ConvId) -> Effects {
        self.gathering.remove(&conv);
        vec![Effect::Send(ClientFrame::Members { conv })]
    }

    /// A refusal from the server: marks the message it concerns as failed, shows what the
    /// person asked for and was refused, and only logs refusals of background frames.
    pub(super) fn refused(
        &mut self,
        code: ErrorCode,
        message: String,
        client_msg_id: Option<ClientMsgId>,
        refused: Option<FrameType>,
    ) {
        let text = match (code, refused) {
            (ErrorCode::RateLimited, Some(FrameType::Send)) => {
                "Too many messages at once — wait a moment".to_string()
            }
            (ErrorCode::RateLimited, _) => "Too much at once — wait a moment".to_string(),
            (ErrorCode::Unavailable, _) => "The server could not store it".to_string(),
            _ => message,
        };
        // A message waiting in the outbox shows its own refusal; an edit, deletion or reaction
        // (never in the outbox) gets the notice below.
        if let Some(p) =
            client_msg_id.and_then(|id| self.outbox.iter_mut().find(|p| p.client_msg_id == id))
        {
            p.failed = Some(text);
            self.touch(Part::Outbox);
            return;
        }
        if matches!(
            refused,
            Some(
                FrameType::OpenDirect
                    | FrameType::CreateRoom
                    | FrameType::JoinRoom
                    | FrameType::Accept
            )
        ) {
            self.forget_awaited();
        }
        if refused == Some(FrameType::Search) {
            self.search_refused(text);
            return;
        }
        // A history request that failed must not block the next one.
        self.loading.clear();
        self.touch(Part::Loading);
        if refused == Some(FrameType::ListRooms) {
            self.directory.loading = false;
            self.touch(Part::Directory);
        }
        // The transport has already logged every refusal to the console.
        if !refused.is_some_and(FrameType::is_background) {
            self.notice = Some(text);
            self.touch(Part::Notice);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_background_frame_shows_nothing_a_refused_action_does() {
        let mut chat = ChatModel::default();
        for kind in [FrameType::Read, FrameType::Typing, FrameType::Members] {
            chat.refused(ErrorCode::RateLimited, "slow".into(), None, Some(kind));
        }
        assert_eq!(chat.notice, None);
        chat.refused(
            ErrorCode::RateLimited,
            "slow".into(),
            None,
            Some(FrameType::JoinRoom),
        );
        assert!(chat.notice.is_some());
        // An edit carries an id but is not in the outbox: its refusal is a notice too.
        chat.notice = None;
        chat.refused(
            ErrorCode::EditWindowClosed,
            "message 4 is too old to edit".into(),
            Some(ClientMsgId("e-1".into())),
            Some(FrameType::Edit),
        );
        assert_eq!(chat.notice.as_deref(), Some("message 4 is too old to edit"));
    }

    #[test]
    fn member_refreshes_for_one_conversation_gather_into_one() {
        let mut chat = ChatModel::default();
        let conv = ConvId(3);
        assert_eq!(
            chat.refresh_members(conv),
            vec![Effect::RefreshMembers(conv)]
        );
        assert_eq!(chat.refresh_members(conv), vec![]);
        assert_eq!(
            chat.members_due(conv),
            vec![Effect::Send(ClientFrame::Members { conv })]
        );
        assert_eq!(
            chat.refresh_members(conv),
            vec![Effect::RefreshMembers(conv)]
        );
    }
}
