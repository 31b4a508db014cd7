//! What travels on the bus: the [`Envelope`] every node publishes, and how a routing
//! [`Change`] made here becomes a [`Body`] for the other nodes.
//!
//! Serialized as JSON on the one channel. Depends on routing's change type and the protocol's
//! ids; nothing else of the server.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{
    protocol::{ConvId, Seq, UserId},
    server::{
        live::Credential,
        routing::{Change, Membership},
    },
};

/// What travels on the bus: who sent it, when, and what.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The sending node.
    pub node: Arc<str>,
    /// When it was sent, Unix milliseconds (for the bus-lag figure).
    pub at: i64,
    /// The message.
    pub body: Body,
}

/// A bus message. Event texts are the encoded `event` frames, ready to send to clients.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// An event was committed at `seq` of `conv` (a message, a rename).
    Event {
        /// Its conversation.
        conv: ConvId,
        /// Its seq.
        seq: Seq,
        /// The encoded frame.
        text: String,
    },
    /// `user` joined or was added to `conv`.
    MemberAdded(MemberEvent),
    /// `user` left or was removed from `conv`.
    MemberRemoved(MemberEvent),
    /// A conversation was created with these members.
    Created {
        /// The conversation.
        conv: ConvId,
        /// Its members.
        members: Vec<UserId>,
    },
    /// A frame for every connection of `user` (read positions shared between devices).
    ToUser {
        /// Whose connections.
        user: UserId,
        /// The encoded frame.
        text: String,
    },
    /// An ephemeral frame (typing) for every connection of `users` except `skip`'s.
    Ephemeral {
        /// Recipients.
        users: Vec<UserId>,
        /// The user it is about, who does not get it.
        skip: UserId,
        /// The encoded frame.
        text: String,
    },
    /// A session or token was revoked: close its sockets.
    Revoke {
        /// Which.
        credential: Credential,
    },
    /// `user` came online (first connection) or went offline (last one) on the sending node.
    Presence {
        /// Who.
        user: UserId,
        /// Which way.
        online: bool,
    },
    /// A node (re)joined the bus: every other node answers with a [`Body::Snapshot`].
    Hello {},
    /// Every user online on the sending node.
    Snapshot {
        /// Who.
        users: Vec<UserId>,
    },
    /// The sending node is alive.
    Heartbeat {},
    /// Something may have been lost since `since` (Unix ms): every node catches up from the store.
    CatchUp {
        /// From when.
        since: i64,
    },
}

/// A membership change: who, where, and its event. (A newtype variant's JSON is the same as a
/// struct variant's: `{"member_added":{"conv":…}}`.)
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemberEvent {
    /// The conversation.
    pub conv: ConvId,
    /// Who.
    pub user: UserId,
    /// The event's seq.
    pub seq: Seq,
    /// The encoded frame.
    pub text: String,
}

impl From<Change<'_>> for Body {
    fn from(change: Change<'_>) -> Self {
        let owned = |text: &axum::extract::ws::Utf8Bytes| text.as_str().to_owned();
        match change {
            Change::Event { conv, seq, text } => Self::Event {
                conv,
                seq,
                text: owned(text),
            },
            Change::Member(change) => {
                let event = MemberEvent {
                    conv: change.conv,
                    user: change.user,
                    seq: change.seq,
                    text: owned(change.text),
                };
                match change.membership {
                    Membership::Added => Self::MemberAdded(event),
                    Membership::Removed => Self::MemberRemoved(event),
                }
            }
            Change::Created { conv, members } => Self::Created {
                conv,
                members: members.to_vec(),
            },
            Change::ToUser { user, text } => Self::ToUser {
                user,
                text: owned(text),
            },
            Change::Ephemeral { users, skip, text } => Self::Ephemeral {
                users: users.to_vec(),
                skip,
                text: owned(text),
            },
            Change::Presence { user, online } => Self::Presence { user, online },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_membership_change_travels_as_the_same_json_as_before_and_back() {
        let event = MemberEvent {
            conv: ConvId(1),
            user: UserId(2),
            seq: Seq(3),
            text: "t".into(),
        };
        let json = serde_json::to_string(&Body::MemberRemoved(event)).unwrap();
        assert_eq!(
            json,
            r#"{"member_removed":{"conv":1,"user":2,"seq":3,"text":"t"}}"#
        );
        let back: Body = serde_json::from_str(&json).unwrap();
        assert!(matches!(
            back,
            Body::MemberRemoved(MemberEvent {
                conv: ConvId(1),
                ..
            })
        ));
    }
}
