//! How the page paces what it sends on its own, and what it does when the server says no.
//!
//! A person never trips the server's budgets (see `docs/PROTOCOL.md`, rate limits) through
//! things the page does for them: member-list refreshes, which follow membership events and
//! could otherwise track a busy room's joins and leaves, are coalesced per conversation: the
//! first starts a short wait and, when it ends, one refresh is sent. (Read marks go out at
//! once: one held back was lost when the page was left right after.) Refusals of such
//! background frames are logged, never shown; refusals of what the person asked for (joining
//! a room, sending a message) are.

use std::collections::HashMap;

use leptos::prelude::*;

use super::Chat;
use crate::protocol::{ClientFrame, ClientMsgId, ConvId, ErrorCode, FrameType};

/// How long member-list refreshes for one conversation gather before one is sent, in ms (only
/// the browser waits; see `refresh_members`).
#[cfg(feature = "hydrate")]
const MEMBERS_PAUSE_MS: u64 = 1000;

impl Chat {
    /// Asks for `conv`'s members after `MEMBERS_PAUSE_MS`, unless a refresh of them is
    /// already waiting: that one covers this one too.
    pub(super) fn refresh_members(&self, conv: ConvId) {
        let mut first = false;
        self.gathering
            .update_value(|waiting| first = waiting.insert(conv));
        if !first {
            return;
        }
        let chat = *self;
        let flush = move || {
            chat.gathering.update_value(|waiting| {
                waiting.remove(&conv);
            });
            chat.send(ClientFrame::Members { conv });
        };
        #[cfg(feature = "hydrate")]
        set_timeout(flush, std::time::Duration::from_millis(MEMBERS_PAUSE_MS));
        // Without a browser there is no clock to wait on (and no socket): send at once.
        #[cfg(not(feature = "hydrate"))]
        flush();
    }

    /// A refusal from the server: marks the message it concerns as failed, shows what the
    /// person asked for and was refused, and only logs refusals of background frames.
    pub(super) fn refused(
        &self,
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
        if let Some(id) = client_msg_id {
            self.outbox.update(|outbox| {
                if let Some(p) = outbox.iter_mut().find(|p| p.client_msg_id == id) {
                    p.failed = Some(text);
                }
            });
            return;
        }
        // A history request that failed must not block the next one.
        self.loading.update(HashMap::clear);
        if refused == Some(FrameType::ListRooms) {
            self.directory.update(|d| d.loading = false);
        }
        // The client has already logged every refusal to the console.
        if !refused.is_some_and(FrameType::is_background) {
            self.notice.set(Some(text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_background_frame_shows_nothing_a_refused_action_does() {
        // Signals live in a reactive owner's arena, as on a served page.
        Owner::new().with(|| {
            let chat = Chat::new();
            for kind in [FrameType::Read, FrameType::Typing, FrameType::Members] {
                chat.refused(ErrorCode::RateLimited, "slow".into(), None, Some(kind));
            }
            assert_eq!(chat.notice.get_untracked(), None);
            chat.refused(
                ErrorCode::RateLimited,
                "slow".into(),
                None,
                Some(FrameType::JoinRoom),
            );
            assert!(chat.notice.get_untracked().is_some());
        });
    }
}
