//! The wire protocol spoken over `/ws`, compiled into both the server and the browser.
//!
//! Every frame is one JSON text message whose `type` field names the variant. Encoding and
//! decoding happen only through the functions at the bottom of this module, so both halves agree
//! on the bytes and every refusal is a typed [`DecodeError`], never a panic or a silent drop.
//!
//! Versioning: the client names the protocol it speaks in the upgrade URL
//! (`/ws?v=<PROTOCOL_VERSION>`). The server answers with [`ServerFrame::Hello`] when it matches,
//! or with [`ServerFrame::Error`] carrying [`ErrorCode::UnsupportedProtocol`] followed by close
//! code [`close_code::PROTOCOL_MISMATCH`] when it does not; a browser seeing that reloads.

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks. Bump it on any incompatible change to the frames.
pub const PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion(1);

/// The path of the WebSocket endpoint.
pub const WS_PATH: &str = "/ws";

/// The query parameter carrying the client's protocol version on the upgrade request.
pub const VERSION_PARAM: &str = "v";

/// A protocol version number, as offered by a client and announced by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProtocolVersion(pub u32);

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A user's stable id, assigned by the store at registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Frames a client sends to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Application-level heartbeat; the server answers with [`ServerFrame::Pong`] echoing `nonce`.
    /// Browsers cannot send WebSocket ping frames, so liveness is checked at this level.
    Ping {
        /// Chosen by the client to match the answer to the question.
        nonce: u64,
    },
}

impl ClientFrame {
    /// The `type` tags of every client frame, used to tell an unknown frame from a malformed one.
    pub const TYPES: &'static [&'static str] = &["ping"];
}

/// Frames the server sends to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerFrame {
    /// First frame on every accepted connection: the handshake is complete.
    Hello {
        /// The protocol version the server speaks (equal to the one the client offered).
        protocol: ProtocolVersion,
        /// The server's build version, for support and logs.
        server_version: String,
        /// The user this connection belongs to, fixed at the upgrade for its whole life.
        user: UserId,
        /// How often the client should send [`ClientFrame::Ping`], in milliseconds. A client that
        /// hears nothing for two intervals treats the connection as dead and reconnects.
        heartbeat_ms: u32,
    },
    /// Answer to [`ClientFrame::Ping`].
    Pong {
        /// The nonce from the ping.
        nonce: u64,
    },
    /// A refusal. The connection stays open unless a close frame follows.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail, safe to show to the user.
        message: String,
    },
    /// The server is going away (shutdown or drain); reconnect after `retry_after_ms`.
    Reconnect {
        /// A hint for how long to wait before reconnecting, in milliseconds.
        retry_after_ms: u32,
    },
}

impl ServerFrame {
    /// The `type` tags of every server frame, used to tell an unknown frame from a malformed one.
    pub const TYPES: &'static [&'static str] = &["hello", "pong", "error", "reconnect"];
}

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
        }
    }
}

/// WebSocket close codes the server uses, with their meaning for clients.
pub mod close_code {
    /// Normal closure (RFC 6455).
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down or draining; reconnect (RFC 6455).
    pub const GOING_AWAY: u16 = 1001;
    /// A frame exceeded the size limit (RFC 6455).
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The session or access token behind this connection was revoked (log out, password
    /// change, token revoked) or expired; do not reconnect until logged in again.
    pub const SESSION_ENDED: u16 = 4001;
    /// The client's protocol version is not supported; do not reconnect, reload the app.
    pub const PROTOCOL_MISMATCH: u16 = 4000;
    /// The connection's outgoing queue overflowed; reconnect and resume.
    pub const TOO_SLOW: u16 = 4008;
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

/// Only the tag, read on the error path to classify a frame that failed to decode.
#[derive(Deserialize)]
struct Tag {
    #[serde(rename = "type")]
    kind: String,
}

fn decode<T: serde::de::DeserializeOwned>(text: &str, known: &[&str]) -> Result<T, DecodeError> {
    serde_json::from_str(text).map_err(|err| match serde_json::from_str::<Tag>(text) {
        Ok(tag) if !known.contains(&tag.kind.as_str()) => DecodeError::UnknownType(tag.kind),
        _ => DecodeError::Malformed(err.to_string()),
    })
}

/// Decodes one client frame.
pub fn decode_client(text: &str) -> Result<ClientFrame, DecodeError> {
    decode(text, ClientFrame::TYPES)
}

/// Decodes one server frame.
pub fn decode_server(text: &str) -> Result<ServerFrame, DecodeError> {
    decode(text, ServerFrame::TYPES)
}

/// Encodes one client frame.
pub fn encode_client(frame: &ClientFrame) -> String {
    serde_json::to_string(frame).expect("client frames contain only strings and integers")
}

/// Encodes one server frame.
pub fn encode_server(frame: &ServerFrame) -> String {
    serde_json::to_string(frame).expect("server frames contain only strings and integers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_round_trip() {
        let frame = ClientFrame::Ping { nonce: 7 };
        let text = encode_client(&frame);
        assert_eq!(text, r#"{"type":"ping","nonce":7}"#);
        assert_eq!(decode_client(&text), Ok(frame));
    }

    #[test]
    fn every_server_frame_round_trips() {
        let frames = [
            ServerFrame::Hello {
                protocol: PROTOCOL_VERSION,
                server_version: "0.1.0".into(),
                user: UserId(3),
                heartbeat_ms: 20_000,
            },
            ServerFrame::Pong { nonce: 1 },
            ServerFrame::Error {
                code: ErrorCode::FrameTooLarge,
                message: "too big".into(),
            },
            ServerFrame::Reconnect {
                retry_after_ms: 500,
            },
        ];
        for frame in frames {
            let text = encode_server(&frame);
            let tag: Tag = serde_json::from_str(&text).unwrap();
            assert!(ServerFrame::TYPES.contains(&tag.kind.as_str()), "{text}");
            assert_eq!(decode_server(&text), Ok(frame));
        }
    }

    #[test]
    fn unknown_type_is_told_apart_from_malformed() {
        assert_eq!(
            decode_client(r#"{"type":"teleport"}"#),
            Err(DecodeError::UnknownType("teleport".into()))
        );
        assert_eq!(
            decode_client(r#"{"type":"ping"}"#).map_err(|e| e.code()),
            Err(ErrorCode::MalformedFrame)
        );
        assert_eq!(
            decode_client("not json").map_err(|e| e.code()),
            Err(ErrorCode::MalformedFrame)
        );
        assert_eq!(
            decode_client(r#"{"type":"ping","nonce":1,"from":"admin"}"#).map_err(|e| e.code()),
            Err(ErrorCode::MalformedFrame)
        );
    }

    #[test]
    fn error_code_names_match_the_wire() {
        for code in [
            ErrorCode::MalformedFrame,
            ErrorCode::UnknownFrameType,
            ErrorCode::FrameTooLarge,
            ErrorCode::BinaryNotSupported,
            ErrorCode::UnsupportedProtocol,
        ] {
            assert_eq!(
                serde_json::to_string(&code).expect("plain enum"),
                format!("\"{}\"", code.as_str())
            );
        }
    }
}
