//! The frames: one enum for each direction, tagged by `type`.

use serde::{Deserialize, Serialize};

use super::{ClientMsgId, ConvId, Epoch, ErrorCode, FrameType, ProtocolVersion, Seq, UserId};

/// The last seq a client has seen in one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    /// The conversation.
    pub conv: ConvId,
    /// The last seq the client holds (0 for none).
    pub seq: Seq,
}

/// Frames a client sends to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Application-level liveness check; the server answers with [`ServerFrame::Pong`] echoing
    /// `nonce`. The server itself keeps a connection alive with WebSocket pings, which
    /// browsers answer on their own; this lets a client (which cannot see those) learn that
    /// the server is still there, and measure the round trip.
    Ping {
        /// Chosen by the client to match the answer to the question.
        nonce: u64,
    },
    /// Sent once after `hello`: the last seq seen per conversation. The server replays what is
    /// missing, announces conversations not listed (with a page of recent history), answers
    /// [`ServerFrame::Synced`], and from then on delivers live.
    Resume {
        /// One entry per conversation the client already holds.
        cursors: Vec<Cursor>,
    },
    /// Posts a message. Answered by [`ServerFrame::Ack`] once it is durable.
    Send {
        /// The sender's id for this message; a retry with the same id is not stored twice.
        client_msg_id: ClientMsgId,
        /// The conversation to post in; the sender must be a member.
        conv: ConvId,
        /// The text, 1 to `max_body_chars` characters.
        body: String,
    },
    /// Opens (creating if needed) the direct conversation with another user.
    OpenDirect {
        /// The other user.
        user: UserId,
    },
    /// Creates a room owned by the sender.
    CreateRoom {
        /// Its name, 1 to 64 characters.
        name: String,
        /// Whether anyone may find and join it (otherwise invitation only).
        public: bool,
    },
    /// Asks for one page of the public rooms, newest first. Every field is optional:
    /// `{"type":"list_rooms"}` is the first page of all of them.
    ListRooms {
        /// Only rooms whose name contains this text, ignoring case (at most 64 characters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<String>,
        /// The `next` of the previous page: rooms older than this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<ConvId>,
        /// At most this many rooms (default 50, capped by the server at 100).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Joins a public room.
    JoinRoom {
        /// The room.
        conv: ConvId,
    },
    /// Adds a user to a room the sender is in.
    Invite {
        /// The room.
        conv: ConvId,
        /// Who to add.
        user: UserId,
    },
    /// Leaves a room.
    Leave {
        /// The room.
        conv: ConvId,
    },
    /// Removes a member from a room the sender owns.
    Remove {
        /// The room.
        conv: ConvId,
        /// Who to remove.
        user: UserId,
    },
    /// Renames a room the sender owns.
    RenameRoom {
        /// The room.
        conv: ConvId,
        /// Its new name, 1 to 64 characters.
        name: String,
    },
    /// Asks for a conversation's members.
    Members {
        /// The conversation; the sender must be a member.
        conv: ConvId,
    },
    /// Asks for the page of events before `before` (scrollback).
    History {
        /// The conversation; the sender must be a member.
        conv: ConvId,
        /// Events with a seq below this one.
        before: Seq,
        /// At most this many (capped by the server at 100).
        limit: u32,
    },
    /// "I am typing" in a conversation; ephemeral and rate-limited.
    Typing {
        /// The conversation.
        conv: ConvId,
    },
    /// The last seq the user has read in a conversation; shared with their other devices.
    Read {
        /// The conversation.
        conv: ConvId,
        /// The last read seq.
        seq: Seq,
    },
}

impl ClientFrame {
    /// The `type` tags of every client frame, used to tell an unknown frame from a malformed one.
    pub const TYPES: &'static [&'static str] = &[
        "ping",
        "resume",
        "send",
        "open_direct",
        "create_room",
        "list_rooms",
        "join_room",
        "invite",
        "leave",
        "remove",
        "rename_room",
        "members",
        "history",
        "typing",
        "read",
    ];
}

/// Whether a conversation is a room or a direct pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvKind {
    /// Two users.
    Direct,
    /// A named room.
    Room,
}

/// A conversation as announced to one of its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvSummary {
    /// Its id.
    pub id: ConvId,
    /// Room or direct.
    pub kind: ConvKind,
    /// The room's name, or the other user's display name for a direct conversation.
    pub name: String,
    /// For rooms: whether it is public.
    pub public: bool,
    /// For rooms: the owner. For direct conversations: the other user.
    pub peer: Option<UserId>,
    /// The newest seq in the conversation.
    pub last_seq: Seq,
    /// The newest seq this user has read.
    pub read_seq: Seq,
    /// The store epoch `last_seq` and `read_seq` belong to (the same as the connection's
    /// `hello`): a client holding this conversation's seqs from another epoch drops them.
    pub epoch: Epoch,
}

/// A public room in the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomListing {
    /// Its id.
    pub id: ConvId,
    /// Its name.
    pub name: String,
    /// How many members it has.
    pub members: u32,
}

/// A member of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The user.
    pub user: UserId,
    /// Their username.
    pub username: String,
    /// Their display name.
    pub display_name: String,
    /// Whether any of their connections is open.
    pub online: bool,
}

/// What happened at one seq of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventBody {
    /// A message.
    Message {
        /// The sender's id for it.
        client_msg_id: ClientMsgId,
        /// The text.
        body: String,
    },
    /// The room was created (by `from`).
    Created {
        /// Its name.
        name: String,
    },
    /// `from` joined the room.
    Joined {},
    /// `from` added `user`.
    Invited {
        /// The new member.
        user: UserId,
    },
    /// `from` left.
    Left {},
    /// `from` (the owner) removed `user`.
    Removed {
        /// The removed member.
        user: UserId,
    },
    /// `from` (the owner) renamed the room.
    Renamed {
        /// The new name.
        name: String,
    },
}

/// One entry of a conversation's sequence. (No `deny_unknown_fields`: serde cannot combine it
/// with the flattened body.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The conversation.
    pub conv: ConvId,
    /// Its position: the one true order.
    pub seq: Seq,
    /// Who caused it; set by the server, never by the client.
    pub from: UserId,
    /// When it was stored, Unix milliseconds.
    pub at: i64,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

/// For `skip_serializing_if`: a `false` flag is left out, so answers that need no flag look
/// as they did before it existed.
fn is_false(flag: &bool) -> bool {
    !*flag
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
        /// The heartbeat interval, in milliseconds: the server sends a WebSocket ping after one
        /// interval in which it received nothing, and closes the connection after
        /// [`super::HEARTBEAT_MISSES`] such intervals in a row. A client that receives nothing
        /// for one interval may send [`ClientFrame::Ping`]; after two, it treats the
        /// connection as dead and reconnects.
        heartbeat_ms: u32,
        /// The store epoch: seqs are only comparable within one. A client whose cursors come
        /// from another epoch drops them and resumes from scratch ([`super::cursors_survive`]).
        epoch: Epoch,
    },
    /// Answer to [`ClientFrame::Ping`].
    Pong {
        /// The nonce from the ping.
        nonce: u64,
    },
    /// A message is durable: it has this seq.
    Ack {
        /// The sender's id for it.
        client_msg_id: ClientMsgId,
        /// The conversation.
        conv: ConvId,
        /// Its seq.
        seq: Seq,
    },
    /// One event of a conversation (a message or a membership change), live or replayed.
    Event(Event),
    /// A conversation this connection did not know: new, joined, invited to, or not listed in
    /// `resume`.
    Conversation(ConvSummary),
    /// The replay requested by `resume` is complete; everything after this is live.
    Synced {},
    /// The user left or was removed from a conversation; no more events will come for it.
    Gone {
        /// The conversation.
        conv: ConvId,
    },
    /// Answer to [`ClientFrame::ListRooms`]: one page, newest room first.
    Rooms {
        /// The page.
        rooms: Vec<RoomListing>,
        /// The request's `query`, echoed so a client can drop answers to a search it replaced.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<String>,
        /// The request's `after`, echoed so a client knows which page this is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<ConvId>,
        /// The `after` that asks for the next page; absent on the last one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<ConvId>,
    },
    /// Answer to [`ClientFrame::Members`].
    Members {
        /// The conversation.
        conv: ConvId,
        /// Its members by username, at most [`super::MAX_MEMBERS`] of them.
        members: Vec<Member>,
        /// Whether the conversation has more members than the list holds (absent: no).
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    /// Answer to [`ClientFrame::History`]: events in ascending seq order.
    History {
        /// The conversation.
        conv: ConvId,
        /// The page.
        events: Vec<Event>,
        /// Whether older events exist.
        more: bool,
    },
    /// A user sharing a conversation with this one came online or went offline (edges only).
    Presence {
        /// The user.
        user: UserId,
        /// Whether they are now online.
        online: bool,
    },
    /// Someone is typing in a conversation. Ephemeral.
    Typing {
        /// The conversation.
        conv: ConvId,
        /// Who.
        user: UserId,
    },
    /// This user's read position in a conversation changed (on another device).
    ReadState {
        /// The conversation.
        conv: ConvId,
        /// The last read seq.
        seq: Seq,
    },
    /// A refusal. The connection stays open unless a close frame follows.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail, safe to show to the user.
        message: String,
        /// The message the refusal concerns, when it concerns one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<ClientMsgId>,
        /// The kind of frame refused, when the refusal answers one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused: Option<FrameType>,
        /// For `rate_limited`: how long until the budget admits one more frame of that kind.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u32>,
    },
    /// A request carrying a `req` that has no answer frame of its own (room and membership
    /// changes, `open_direct`, `typing`, `read`) is done: its effects (a `conversation`, the
    /// events, `gone`) were queued before this. Sent only to requests with a `req`.
    Done {
        /// The conversation the request made, joined or changed.
        conv: ConvId,
    },
    /// The server is going away (shutdown or drain); reconnect after `retry_after_ms`.
    Reconnect {
        /// A hint for how long to wait before reconnecting, in milliseconds.
        retry_after_ms: u32,
    },
}

impl ServerFrame {
    /// The `type` tags of every server frame, used to tell an unknown frame from a malformed one.
    pub const TYPES: &'static [&'static str] = &[
        "hello",
        "pong",
        "ack",
        "event",
        "conversation",
        "synced",
        "gone",
        "rooms",
        "members",
        "history",
        "presence",
        "typing",
        "read_state",
        "error",
        "reconnect",
        "done",
    ];

    /// A refusal without a message id.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
            client_msg_id: None,
            refused: None,
            retry_after_ms: None,
        }
    }
}
