//! The wire protocol spoken over `/ws`, compiled into both the server and the browser.
//!
//! Every frame is one JSON text message whose `type` field names the variant. Encoding and
//! decoding happen only through the functions in `codec` (and `request`, for frames that carry
//! a `req`), so both halves agree on the bytes and every refusal is a typed [`DecodeError`], never a panic or a silent drop.
//!
//! Versioning: the client names the protocol it speaks in the upgrade URL
//! (`/ws?v=<PROTOCOL_VERSION>`). The server answers with [`ServerFrame::Hello`] when it matches,
//! or with [`ServerFrame::Error`] carrying [`ErrorCode::UnsupportedProtocol`] followed by close
//! code [`close_code::PROTOCOL_MISMATCH`] when it does not; a browser seeing that reloads.
//!
//! The files: `client_frame`, `server_frame`, `event` and `conversation` hold the wire types;
//! `error` the refusal and decode-failure codes; `reaction` which strings are reactions; `notify` the notification settings; `close_code` the WebSocket close codes;
//! `codec` and `request` the only encoders and decoders. This module depends on serde (and `emojis`, for reactions) alone:
//! nothing in it may use the server, the app or any I/O.

mod client_frame;
pub mod close_code;
mod codec;
mod conversation;
mod epoch;
mod error;
mod event;
mod frame_type;
mod ids;
mod mention;
mod notify;
mod reaction;
mod request;
mod search;
mod server_frame;

pub use self::{
    client_frame::{ClientFrame, Cursor},
    codec::{decode_client, decode_server, encode_client, encode_server},
    conversation::{ConvKind, ConvSummary, Invitation, Member, RoomListing},
    epoch::{Epoch, cursors_survive},
    error::{DecodeError, ErrorCode},
    event::{Event, EventBody},
    frame_type::FrameType,
    ids::{ClientMsgId, ConvId, ProtocolVersion, Seq, UserId},
    mention::{mention_being_typed, mentions, mentions_user},
    notify::{NotifyLevel, NotifySettings, should_notify},
    reaction::{MAX_REACTION_BYTES, MAX_REACTIONS_PER_MESSAGE, REACTION_PALETTE, is_reaction},
    request::{
        Reply, Req, Request, decode_reply, decode_request, encode_reply, encode_request, req_of,
    },
    search::{
        MAX_SEARCH_CHARS, MAX_SEARCH_PAGE, MAX_SEARCH_TERMS, SEARCH_PAGE, SearchCursor, SearchHit,
        TypedSearch, day_start, search_matches, search_terms,
    },
    server_frame::ServerFrame,
};

/// The protocol version this build speaks. Bump it on any incompatible change to the frames.
pub const PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion(1);

/// The path of the WebSocket endpoint.
pub const WS_PATH: &str = "/ws";

/// The query parameter carrying the client's protocol version on the upgrade request.
pub const VERSION_PARAM: &str = "v";

/// The longest message body, in characters (the server's `limits.max_body_chars` may lower it).
pub const MAX_BODY_CHARS: usize = 4000;

/// The longest room name, in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 64;

/// The most events one `history` answer or one replay page holds.
pub const MAX_PAGE: u32 = 100;

/// How many rooms one `rooms` page holds unless the client asks for fewer.
pub const ROOM_PAGE: u32 = 50;

/// The most rooms one `rooms` page holds.
pub const MAX_ROOM_PAGE: u32 = 100;

/// The longest `list_rooms` search text, in characters (as long as a room name).
pub const MAX_ROOM_QUERY_CHARS: usize = MAX_ROOM_NAME_CHARS;

/// The most members one `members` answer lists (the rest are counted by `more`).
pub const MAX_MEMBERS: u32 = 500;

/// The most users one user may block.
pub const MAX_BLOCKS: usize = 1000;

/// The most pending invitations one user may hold.
pub const MAX_INVITATIONS_PER_USER: usize = 100;

/// The most pending invitations one room may have out.
pub const MAX_INVITATIONS_PER_ROOM: usize = 100;

/// How many heartbeat intervals in a row the server may receive nothing from a client (not
/// even the pong to its WebSocket ping) before it closes the connection.
pub const HEARTBEAT_MISSES: u32 = 2;

/// How many recent events a conversation new to a client arrives with.
pub const RECENT_PAGE: u32 = 50;

#[cfg(test)]
pub(crate) mod tests;
