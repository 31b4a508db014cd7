//! One entry of a conversation's sequence: who did what, when, at which seq.
//!
//! Wire types only: no I/O, nothing from outside `protocol`.

use serde::{Deserialize, Serialize};

use super::{ClientMsgId, ConvId, Seq, UserId};

/// What happened at one seq of a conversation.
///
/// Decoding is lenient, so that a client keeps working when a newer server adds to the
/// protocol: a `kind` this build does not know decodes as [`EventBody::Unknown`] (the event
/// still has its seq, so the client's cursor moves past it), and fields a known kind does not
/// have are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// A message.
    Message {
        /// The sender's id for it.
        client_msg_id: ClientMsgId,
        /// The text.
        body: String,
        /// The earlier message of the same conversation this one answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<Seq>,
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
    /// `from` changed their display name (in every conversation they are in, each at its own
    /// seq): names shown for them from here on are this one.
    Profile {
        /// Their new display name.
        display_name: String,
    },
    /// `from` changed the text of their message at `target` (the latest edit is its text).
    Edited {
        /// The message's seq.
        target: Seq,
        /// Its new text.
        body: String,
    },
    /// `from` deleted the message at `target`; the store no longer holds its text.
    Deleted {
        /// The message's seq.
        target: Seq,
    },
    /// `from` reacted to the message at `target` with `emoji`.
    Reacted {
        /// The message's seq.
        target: Seq,
        /// One emoji.
        emoji: String,
    },
    /// `from` took back their reaction `emoji` to the message at `target`.
    Unreacted {
        /// The message's seq.
        target: Seq,
        /// The emoji.
        emoji: String,
    },
    /// What is left of a deleted message (no `target`) or of an edit of one (`target` names
    /// the message): the seq stays, the text is gone from the store.
    Tombstone {
        /// For a deleted edit: the message it edited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<Seq>,
    },
    /// A kind this build does not know (from a newer server): show nothing, but keep its seq.
    #[serde(other)]
    Unknown,
}

impl EventBody {
    /// The message this event is about (edit, delete, reaction, a deleted edit), if any.
    pub fn target(&self) -> Option<Seq> {
        match self {
            Self::Edited { target, .. }
            | Self::Deleted { target }
            | Self::Reacted { target, .. }
            | Self::Unreacted { target, .. } => Some(*target),
            Self::Tombstone { target } => *target,
            _ => None,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DecodeError, ServerFrame, decode_client, decode_server};
    /// An event of a kind this build does not know, or with a field it does not know, still
    /// decodes, with its seq: a client ignores what it does not understand and moves its cursor
    /// past it. The documented wire shapes of the new kinds decode as the types say.
    #[test]
    fn unknown_event_kinds_and_fields_decode_with_their_seq() {
        let future = r#"{"type":"event","conv":3,"seq":44,"from":42,"at":1,"kind":"poll","question":"lunch?","options":["a","b"]}"#;
        let Ok(ServerFrame::Event(event)) = decode_server(future) else {
            panic!("an unknown kind is still an event");
        };
        assert_eq!(
            (event.conv, event.seq, event.body),
            (ConvId(3), Seq(44), EventBody::Unknown)
        );
        let extra = r#"{"type":"event","conv":3,"seq":45,"from":42,"at":1,"kind":"message","client_msg_id":"x","body":"hi","thread":7}"#;
        assert!(
            matches!(
                decode_server(extra),
                Ok(ServerFrame::Event(Event {
                    body: EventBody::Message { .. },
                    ..
                }))
            ),
            "a field this build does not know is ignored"
        );
        let edited = r#"{"type":"event","conv":3,"seq":46,"from":42,"at":1,"kind":"edited","target":42,"body":"hello"}"#;
        assert!(matches!(
            decode_server(edited),
            Ok(ServerFrame::Event(Event {
                body: EventBody::Edited {
                    target: Seq(42),
                    ..
                },
                ..
            }))
        ));
        let tombstone = r#"{"type":"event","conv":3,"seq":42,"from":42,"at":1,"kind":"tombstone"}"#;
        assert!(matches!(
            decode_server(tombstone),
            Ok(ServerFrame::Event(Event {
                body: EventBody::Tombstone { target: None },
                ..
            }))
        ));
        // Client frames stay strict: a field the server does not know is refused.
        let sloppy =
            r#"{"type":"react","client_msg_id":"a","conv":1,"target":2,"emoji":"👍","from":9}"#;
        assert!(matches!(
            decode_client(sloppy),
            Err(DecodeError::Malformed(_))
        ));
    }
}
