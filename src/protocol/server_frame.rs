//! The frames the server sends, tagged by `type`.
//!
//! Wire types only: no I/O, nothing from outside `protocol`.

use serde::{Deserialize, Serialize};

use super::{
    ClientMsgId, ConvId, ConvSummary, Epoch, ErrorCode, Event, FrameType, Invitation, Member,
    NotifyLevel, ProtocolVersion, RoomListing, SearchCursor, SearchHit, Seq, UserId,
};

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
    /// Answer to [`ClientFrame::Search`]: one page of hits, newest first.
    SearchResults {
        /// The request's `text`, echoed so a client can drop answers to a search it replaced.
        text: String,
        /// The words matched (see [`super::search_terms`]), for highlighting.
        terms: Vec<String>,
        /// The page.
        hits: Vec<SearchHit>,
        /// The request's `page`, echoed so a client knows which page this is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page: Option<SearchCursor>,
        /// The `page` that asks for the next one; absent on the last.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<SearchCursor>,
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
    /// This user's notification settings for a conversation changed: to every device of the
    /// user (the one that asked gets it as the answer, with its `req`). Each conversation's
    /// settings also come in its `conversation` summary.
    Notify {
        /// The conversation.
        conv: ConvId,
        /// When its messages notify.
        level: NotifyLevel,
        /// Whether it is muted.
        muted: bool,
    },
    /// This user's display name as stored: the answer to `set_profile` (with its `req`) and
    /// to their other devices.
    Profile {
        /// The display name.
        display_name: String,
    },
    /// This user's "do not disturb": to every device whenever it changes (the one that asked
    /// gets it as the answer, with its `req`), and before `synced` when it is on.
    DoNotDisturb {
        /// On or off.
        on: bool,
    },
    /// Everyone this user blocks, the whole list: to every device of the user whenever it
    /// changes (the one that asked gets it as the answer, with its `req`), and before `synced`
    /// when it is not empty (a device that sees none before `synced` blocks nobody).
    Blocks {
        /// The blocked users, at most [`super::MAX_BLOCKS`], ascending.
        users: Vec<UserId>,
    },
    /// A pending invitation to a room for this user: live to every device when it is made,
    /// and each one before `synced`.
    Invitation(Invitation),
    /// An invitation this user had is no more: accepted, declined (on any of their devices),
    /// or withdrawn because the inviter left or was removed.
    Uninvited {
        /// The room.
        conv: ConvId,
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
        "search_results",
        "members",
        "history",
        "presence",
        "typing",
        "read_state",
        "blocks",
        "notify",
        "do_not_disturb",
        "profile",
        "invitation",
        "uninvited",
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
