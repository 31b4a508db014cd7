//! Why the server refuses a frame ([`ErrorCode`]) and why a frame could not be decoded
//! ([`DecodeError`]).
//!
//! Wire types only: no I/O, nothing from outside `protocol`.

use serde::{Deserialize, Serialize};

/// Machine-readable reasons carried by [`ServerFrame::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON or lacks required fields.
    MalformedFrame,
    /// The frame's `type` is not one this server knows.
    UnknownFrameType,
    /// The frame exceeds the server's size limit.
    FrameTooLarge,
    /// Binary frames are not part of the protocol.
    BinaryNotSupported,
    /// The client offered a protocol version this server does not speak; reload the page.
    UnsupportedProtocol,
    /// A field's value breaks a rule (empty or over-long body or name, bad `client_msg_id`).
    InvalidRequest,
    /// The conversation or user named does not exist — or is not visible to this user.
    NotFound,
    /// The user may not do this here (not a member, not the owner, room not public).
    Forbidden,
    /// Too many frames too fast; slow down. Nothing was stored.
    RateLimited,
    /// The other user blocks the sender: no direct conversation, message or invitation.
    Blocked,
    /// A bounded list is full (blocked users, pending invitations); nothing was stored.
    LimitReached,
    /// A frame came before `resume`, which must come first.
    NotResumed,
    /// The store could not complete the request; nothing was stored, try again.
    Unavailable,
    /// The message named was deleted: it cannot be edited, deleted again, reacted or replied to.
    MessageDeleted,
    /// The seq named holds an event that is not a message (a join, a reaction, …).
    NotAMessage,
    /// The message is older than the server's edit window.
    EditWindowClosed,
    /// The message already has the most distinct reactions it may have.
    TooManyReactions,
}

impl ErrorCode {
    /// The snake_case name used on the wire and in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedFrame => "malformed_frame",
            Self::UnknownFrameType => "unknown_frame_type",
            Self::FrameTooLarge => "frame_too_large",
            Self::BinaryNotSupported => "binary_not_supported",
            Self::UnsupportedProtocol => "unsupported_protocol",
            Self::InvalidRequest => "invalid_request",
            Self::NotFound => "not_found",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::Blocked => "blocked",
            Self::LimitReached => "limit_reached",
            Self::NotResumed => "not_resumed",
            Self::Unavailable => "unavailable",
            Self::MessageDeleted => "message_deleted",
            Self::NotAMessage => "not_a_message",
            Self::EditWindowClosed => "edit_window_closed",
            Self::TooManyReactions => "too_many_reactions",
        }
    }
}

/// Why a frame could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// Well-formed JSON whose `type` names no known frame.
    #[error("unknown frame type `{0}`")]
    UnknownType(String),
}

impl DecodeError {
    /// The wire error code for this decode failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Malformed(_) => ErrorCode::MalformedFrame,
            Self::UnknownType(_) => ErrorCode::UnknownFrameType,
        }
    }
}
