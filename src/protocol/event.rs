//! One entry of a conversation's sequence: who did what, when, at which seq.
//!
//! Wire types only: no I/O, nothing from outside `protocol`.

use serde::{Deserialize, Serialize};

use super::{ClientMsgId, ConvId, Seq, UserId};

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
