//! A native Rust client for the switchboard protocol (`docs/PROTOCOL.md`), for the tests, the
//! load generator and, later, a command-line client and bots.
//!
//! Two levels, so a caller pays only for what it uses:
//!
//! * the wire ([`connect`], [`wire`]): open `/ws` with an Origin and a cookie or bearer token
//!   ([`Target`], [`open`], [`open_on`]), send frames or raw text, read the next text frame or
//!   close, and read an event's position without decoding it ([`event_position`]). The load
//!   generator stays at this level: it decodes nothing it does not need.
//! * the [`Session`]: hello and store-epoch handling, `resume` from the cursors it tracks,
//!   an [`Outbox`] of unacknowledged messages resent (same `client_msg_id`) on every
//!   reconnect, dedupe by `(conv, seq)` ([`Tracker`]), requests with `req` ids matched to their
//!   answers, and the server's refusals and close codes surfaced as a typed [`ClientError`].
//!
//! The outbox and the tracker are plain data (no I/O) with unit tests of their own.
//!
//! It speaks `ws://` only (no TLS): loopback, or behind a proxy that terminates TLS. It sends
//! no heartbeat of its own: tungstenite answers the server's WebSocket pings while the socket
//! is being read, so a session must be read regularly or the server's heartbeat closes it.
//!
//! Depends on [`crate::protocol`] and the async stack (tokio, tokio-tungstenite, futures)
//! only; never on `crate::server` or the UI, so a client binary can be built without the
//! server in it (feature `client` alone).

pub mod connect;
mod outbox;
mod session;
mod tracker;
pub mod wire;

use crate::protocol::{ClientMsgId, DecodeError, ErrorCode, FrameType};

pub use self::{
    connect::{Auth, ConnectError, Socket, Target, open, open_on},
    outbox::{Outbox, Pending},
    session::{Received, Session},
    tracker::{Take, Tracker},
    wire::{Close, Raw, event_position},
};

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The upgrade did not happen.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The server closed the connection, with this close frame (see
    /// [`crate::protocol::close_code`]); `None` when it sent no code.
    #[error("closed by the server: {0:?}")]
    Closed(Option<Close>),
    /// The connection ended without a close frame, or broke.
    #[error("connection lost: {0}")]
    Lost(String),
    /// Nothing arrived within the time allowed.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The server sent a frame this client cannot decode.
    #[error("undecodable frame from the server: {0}")]
    Decode(#[from] DecodeError),
    /// The server sent something other than what the protocol says comes next.
    #[error("unexpected frame: {0}")]
    Unexpected(String),
    /// The server refused a request with an `error` frame.
    #[error("refused: {}: {message}", code.as_str())]
    Refused {
        /// Machine-readable reason.
        code: ErrorCode,
        /// The server's explanation.
        message: String,
        /// The message it concerns, if any.
        client_msg_id: Option<ClientMsgId>,
        /// The kind of frame refused, if named.
        refused: Option<FrameType>,
        /// For `rate_limited`: when to try again.
        retry_after_ms: Option<u32>,
    },
}

impl ClientError {
    /// The close code, when the server closed the connection with one.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::Closed(Some(close)) => Some(close.code),
            _ => None,
        }
    }
}
