//! Id newtypes: every id on the wire has its own type, so a user id cannot be passed as a
//! conversation id.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A protocol version number, as offered by a client and announced by the server.
    ProtocolVersion(u32)
);
id_type!(
    /// A user's stable id, assigned by the store at registration.
    UserId(i64)
);
id_type!(
    /// A conversation (room or direct pair), assigned by the store.
    ConvId(i64)
);
id_type!(
    /// A position in one conversation's sequence: 1, 2, 3 … with no gaps. 0 means "before the
    /// first event".
    Seq(i64)
);

/// Seq 0: before the first event.
impl Default for Seq {
    fn default() -> Self {
        Self(0)
    }
}

impl Seq {
    /// The seq after this one.
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

/// The sender's id for a message, chosen by the client (a UUID is recommended) so that a retried
/// send is recognised: `(sender, client_msg_id)` is unique.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMsgId(pub String);

impl ClientMsgId {
    /// The longest accepted id, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Whether this id is acceptable: 1–64 printable ASCII characters.
    pub fn is_valid(&self) -> bool {
        (1..=Self::MAX_LEN).contains(&self.0.len()) && self.0.bytes().all(|b| b.is_ascii_graphic())
    }
}

impl std::fmt::Display for ClientMsgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
