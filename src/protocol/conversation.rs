//! What the server says about conversations: their summaries, directory listings, members and
//! pending invitations.
//!
//! Wire types only: no I/O, nothing from outside `protocol`.

use serde::{Deserialize, Serialize};

use super::{ConvId, Epoch, NotifySettings, Seq, UserId};

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
    /// This user's notification settings for it (absent: the defaults).
    #[serde(default)]
    pub notify: NotifySettings,
    /// When its newest event happened (Unix ms; its creation while it has none): clients sort
    /// conversations by it (absent: 0).
    #[serde(default)]
    pub last_at: i64,
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

/// A pending invitation to a room, as its invitee sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invitation {
    /// The room.
    pub conv: ConvId,
    /// Its name when the invitation was sent or announced.
    pub name: String,
    /// Who invited.
    pub from: UserId,
    /// The inviter's username.
    pub from_name: String,
    /// When it was made, Unix milliseconds.
    pub at: i64,
}
