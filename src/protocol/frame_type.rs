//! The kind of a client frame, named on the wire when the server refuses one that carries no
//! `client_msg_id`, so a client knows which of its requests the refusal answers.

use serde::{Deserialize, Serialize};

use super::ClientFrame;

/// A [`ClientFrame`]'s `type` tag as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameType {
    /// [`ClientFrame::Ping`].
    Ping,
    /// [`ClientFrame::Resume`].
    Resume,
    /// [`ClientFrame::Send`].
    Send,
    /// [`ClientFrame::OpenDirect`].
    OpenDirect,
    /// [`ClientFrame::CreateRoom`].
    CreateRoom,
    /// [`ClientFrame::ListRooms`].
    ListRooms,
    /// [`ClientFrame::Search`].
    Search,
    /// [`ClientFrame::JoinRoom`].
    JoinRoom,
    /// [`ClientFrame::Invite`].
    Invite,
    /// [`ClientFrame::Accept`].
    Accept,
    /// [`ClientFrame::Decline`].
    Decline,
    /// [`ClientFrame::Block`].
    Block,
    /// [`ClientFrame::Unblock`].
    Unblock,
    /// [`ClientFrame::Notify`].
    Notify,
    /// [`ClientFrame::DoNotDisturb`].
    DoNotDisturb,
    /// [`ClientFrame::Leave`].
    Leave,
    /// [`ClientFrame::Remove`].
    Remove,
    /// [`ClientFrame::RenameRoom`].
    RenameRoom,
    /// [`ClientFrame::SetProfile`].
    SetProfile,
    /// [`ClientFrame::Members`].
    Members,
    /// [`ClientFrame::History`].
    History,
    /// [`ClientFrame::Typing`].
    Typing,
    /// [`ClientFrame::Read`].
    Read,
    /// [`ClientFrame::Edit`].
    Edit,
    /// [`ClientFrame::Delete`].
    Delete,
    /// [`ClientFrame::React`].
    React,
    /// [`ClientFrame::Unreact`].
    Unreact,
}

impl FrameType {
    /// Whether a refusal of this kind of frame is background noise to a person: the client
    /// sent it on its own (read marks, typing notices, refreshes), so a banner would only
    /// puzzle them.
    pub fn is_background(self) -> bool {
        matches!(
            self,
            Self::Ping | Self::Read | Self::Typing | Self::Members | Self::History
        )
    }
}

impl ClientFrame {
    /// This frame's kind.
    pub fn frame_type(&self) -> FrameType {
        match self {
            Self::Ping { .. } => FrameType::Ping,
            Self::Resume { .. } => FrameType::Resume,
            Self::Send { .. } => FrameType::Send,
            Self::OpenDirect { .. } => FrameType::OpenDirect,
            Self::CreateRoom { .. } => FrameType::CreateRoom,
            Self::ListRooms { .. } => FrameType::ListRooms,
            Self::Search { .. } => FrameType::Search,
            Self::JoinRoom { .. } => FrameType::JoinRoom,
            Self::Invite { .. } => FrameType::Invite,
            Self::Accept { .. } => FrameType::Accept,
            Self::Decline { .. } => FrameType::Decline,
            Self::Block { .. } => FrameType::Block,
            Self::Unblock { .. } => FrameType::Unblock,
            Self::Notify { .. } => FrameType::Notify,
            Self::DoNotDisturb { .. } => FrameType::DoNotDisturb,
            Self::Leave { .. } => FrameType::Leave,
            Self::Remove { .. } => FrameType::Remove,
            Self::RenameRoom { .. } => FrameType::RenameRoom,
            Self::SetProfile { .. } => FrameType::SetProfile,
            Self::Members { .. } => FrameType::Members,
            Self::History { .. } => FrameType::History,
            Self::Typing { .. } => FrameType::Typing,
            Self::Read { .. } => FrameType::Read,
            Self::Edit { .. } => FrameType::Edit,
            Self::Delete { .. } => FrameType::Delete,
            Self::React { .. } => FrameType::React,
            Self::Unreact { .. } => FrameType::Unreact,
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::protocol::{decode_client, encode_client, tests::generated::client_frame};

    proptest! {
        /// The named kind is the frame's own `type` tag, so the two lists cannot drift apart.
        #[test]
        fn a_frame_type_is_the_frames_tag(frame in client_frame()) {
            let text = encode_client(&frame);
            let kind = serde_json::to_string(&frame.frame_type()).expect("plain enum");
            prop_assert!(text.starts_with(&format!("{{\"type\":{kind}")), "{text}");
        }
    }

    #[test]
    fn a_bare_list_rooms_still_decodes() {
        assert_eq!(
            decode_client(r#"{"type":"list_rooms"}"#),
            Ok(ClientFrame::ListRooms {
                query: None,
                after: None,
                limit: None,
            })
        );
    }
}
