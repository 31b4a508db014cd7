//! WebSocket close codes the server uses, with their meaning for clients.
//!
//! Plain numbers: nothing here depends on anything.

/// Normal closure (RFC 6455).
pub const NORMAL: u16 = 1000;
/// The server is shutting down or draining; reconnect (RFC 6455).
pub const GOING_AWAY: u16 = 1001;
/// A text frame was not valid UTF-8 (RFC 6455).
pub const INVALID_PAYLOAD: u16 = 1007;
/// A frame exceeded the size limit (RFC 6455).
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The session or access token behind this connection was revoked (log out, password
/// change, token revoked) or expired; do not reconnect until logged in again.
pub const SESSION_ENDED: u16 = 4001;
/// The client did not send `resume` within the server's handshake timeout
/// (`server.handshake_timeout_ms`) after the upgrade; reconnect and resume at once.
pub const NO_RESUME: u16 = 4002;
/// The client's protocol version is not supported; do not reconnect, reload the app.
pub const PROTOCOL_MISMATCH: u16 = 4000;
/// The connection's outgoing queue overflowed; reconnect and resume.
pub const TOO_SLOW: u16 = 4008;
