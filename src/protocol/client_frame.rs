//! The frames a client sends, tagged by `type`, and the cursor `resume` carries.
//!
//! Wire types only: no I/O, nothing from outside `protocol`.

use serde::{Deserialize, Serialize};

use super::{ClientMsgId, ConvId, NotifyLevel, SearchCursor, Seq, UserId};

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
        /// The seq of an earlier message of `conv` this one answers (not a deleted one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<Seq>,
    },
    /// Replaces the text of one of the sender's own messages, within the server's edit window.
    /// Answered by [`ServerFrame::Ack`] with the `edited` event's seq.
    Edit {
        /// The sender's id for this edit; a retry with the same id is not stored twice.
        client_msg_id: ClientMsgId,
        /// The conversation.
        conv: ConvId,
        /// The message's seq.
        target: Seq,
        /// The new text, by the rules of `send`.
        body: String,
    },
    /// Deletes a message: the sender's own, or any in a room the sender owns. Answered by
    /// [`ServerFrame::Ack`] with the `deleted` event's seq.
    Delete {
        /// The sender's id for this deletion.
        client_msg_id: ClientMsgId,
        /// The conversation.
        conv: ConvId,
        /// The message's seq.
        target: Seq,
    },
    /// Adds the sender's reaction `emoji` to a message (nothing new if it is there already).
    React {
        /// The sender's id for this reaction.
        client_msg_id: ClientMsgId,
        /// The conversation.
        conv: ConvId,
        /// The message's seq.
        target: Seq,
        /// One emoji (see [`crate::protocol::is_reaction`]).
        emoji: String,
    },
    /// Takes back the sender's reaction `emoji` to a message (nothing if there is none).
    Unreact {
        /// The sender's id for this change.
        client_msg_id: ClientMsgId,
        /// The conversation.
        conv: ConvId,
        /// The message's seq.
        target: Seq,
        /// The emoji.
        emoji: String,
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
    /// Searches the messages of every conversation the sender is a member of (or of one):
    /// one page of hits, newest first (see `search.rs`). Every filter is optional.
    Search {
        /// The words to find (at most 200 characters; see [`super::search_terms`]).
        text: String,
        /// Only in this conversation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conv: Option<ConvId>,
        /// Only messages from the user with this username (any case).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// Only messages sent at or after this time, Unix milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<i64>,
        /// Only messages sent before this time, Unix milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<i64>,
        /// The `next` of the previous page: hits older than it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page: Option<SearchCursor>,
        /// At most this many hits (default 20, capped by the server at 50).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Joins a public room.
    JoinRoom {
        /// The room.
        conv: ConvId,
    },
    /// Invites a user to a room the sender is in: a pending invitation, which makes them a
    /// member only once they [`ClientFrame::Accept`] it.
    Invite {
        /// The room.
        conv: ConvId,
        /// Who to invite.
        user: UserId,
    },
    /// Accepts a pending invitation to a room: the sender becomes a member.
    Accept {
        /// The room.
        conv: ConvId,
    },
    /// Declines a pending invitation to a room; nothing is written to the room.
    Decline {
        /// The room.
        conv: ConvId,
    },
    /// Blocks a user: they cannot open a direct conversation with the sender, send into one,
    /// invite them, or see their presence. Idempotent.
    Block {
        /// Who to block.
        user: UserId,
    },
    /// Unblocks a user. Idempotent.
    Unblock {
        /// Who to unblock.
        user: UserId,
    },
    /// Sets the sender's notification settings for a conversation they are in; every device of
    /// theirs gets them as `notify`.
    Notify {
        /// The conversation.
        conv: ConvId,
        /// When its messages notify.
        level: NotifyLevel,
        /// Whether it is muted.
        muted: bool,
    },
    /// Turns the sender's "do not disturb" on or off (no notifications anywhere); every device
    /// of theirs gets it as `do_not_disturb`.
    DoNotDisturb {
        /// On or off.
        on: bool,
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
    /// Changes the sender's display name (empty: back to the username), everywhere: a
    /// `profile` event in each of their conversations, and `profile` to each of their devices.
    SetProfile {
        /// The new display name, at most 64 characters, no control characters.
        display_name: String,
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
        "search",
        "join_room",
        "invite",
        "accept",
        "decline",
        "block",
        "unblock",
        "notify",
        "do_not_disturb",
        "leave",
        "remove",
        "rename_room",
        "set_profile",
        "members",
        "history",
        "typing",
        "read",
        "edit",
        "delete",
        "react",
        "unreact",
    ];

    /// The sender's id for the event this frame would store, for the frames that store one
    /// (`send`, `edit`, `delete`, `react`, `unreact`).
    pub fn client_msg_id(&self) -> Option<&ClientMsgId> {
        match self {
            Self::Send { client_msg_id, .. }
            | Self::Edit { client_msg_id, .. }
            | Self::Delete { client_msg_id, .. }
            | Self::React { client_msg_id, .. }
            | Self::Unreact { client_msg_id, .. } => Some(client_msg_id),
            _ => None,
        }
    }

    /// The conversation and seq of the message an `edit`, `delete`, `react` or `unreact` is
    /// about.
    pub fn target(&self) -> Option<(ConvId, Seq)> {
        match self {
            Self::Edit { conv, target, .. }
            | Self::Delete { conv, target, .. }
            | Self::React { conv, target, .. }
            | Self::Unreact { conv, target, .. } => Some((*conv, *target)),
            _ => None,
        }
    }
}
