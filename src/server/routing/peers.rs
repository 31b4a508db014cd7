//! What routing needs from the other nodes of a cluster, as a trait: hear of every change made
//! here, and say whether a user is online elsewhere.
//!
//! Routing calls [`Peers`]; the cluster module implements it (over its bus) and calls routing
//! back with [`Origin::Peer`] for what it hears. A single node runs with [`Alone`], which tells
//! nobody. Nothing here may name the cluster, its transport or its wire format.

use axum::extract::ws::Utf8Bytes;

use crate::protocol::{ConvId, Seq, UserId};

/// Where a routed change comes from, which decides whether the other nodes are told of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Made on this node: delivered here, then told to the other nodes.
    Local,
    /// Heard from another node, which told every node: delivered here only. Membership is read
    /// afresh from the store, since what this node has cached may predate the change.
    Peer,
}

/// Which way a membership changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    /// The user joined or was added.
    Added,
    /// The user left or was removed.
    Removed,
}

/// `user` joined or left `conv`, recorded at `seq` as the encoded event `text`.
#[derive(Clone, Copy, Debug)]
pub struct MemberChange<'a> {
    /// Joined or left.
    pub membership: Membership,
    /// The conversation.
    pub conv: ConvId,
    /// Who.
    pub user: UserId,
    /// The event's seq.
    pub seq: Seq,
    /// The encoded `event` frame.
    pub text: &'a Utf8Bytes,
}

/// A change made on this node, as the other nodes must hear of it. Borrowed: a single node
/// builds nothing for it, and a cluster copies what it sends.
#[derive(Clone, Copy, Debug)]
pub enum Change<'a> {
    /// An event was committed at `seq` of `conv` (a message, a rename).
    Event {
        /// Its conversation.
        conv: ConvId,
        /// Its seq.
        seq: Seq,
        /// The encoded `event` frame.
        text: &'a Utf8Bytes,
    },
    /// Someone joined or left a conversation.
    Member(MemberChange<'a>),
    /// A conversation was created with these members.
    Created {
        /// The conversation.
        conv: ConvId,
        /// Its members.
        members: &'a [UserId],
    },
    /// A frame for every connection of `user` (read positions shared between devices).
    ToUser {
        /// Whose connections.
        user: UserId,
        /// The encoded frame.
        text: &'a Utf8Bytes,
    },
    /// An ephemeral frame (typing) for every connection of `users` except `skip`'s.
    Ephemeral {
        /// Recipients.
        users: &'a [UserId],
        /// The user it is about, who does not get it.
        skip: UserId,
        /// The encoded frame.
        text: &'a Utf8Bytes,
    },
    /// `user` came online (first connection) or went offline (last one) on this node.
    Presence {
        /// Who.
        user: UserId,
        /// Which way.
        online: bool,
    },
}

/// The other nodes, as routing sees them.
///
/// Lock rule, which the shapes on both sides keep: routing calls [`Peers::tell`] while holding
/// its table lock (so one user's online and offline edges reach the peers in the order they
/// happened), so `tell` must neither wait nor call back into routing; routing calls
/// [`Peers::online_elsewhere`] holding nothing, and an implementation must never call routing
/// while holding a lock of its own.
pub trait Peers: Send + Sync + 'static {
    /// Tells the other nodes of a change made here. Never waits; may drop the change if it
    /// arranges for the other nodes to catch up.
    fn tell(&self, change: Change<'_>);

    /// Whether `user` has a connection on another live node.
    fn online_elsewhere(&self, user: UserId) -> bool;

    /// Whether there are other nodes at all (routing keeps catch-up bookkeeping only if so).
    fn clustered(&self) -> bool {
        true
    }
}

/// A single node: no peers to tell, nobody online elsewhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct Alone;

impl Peers for Alone {
    fn tell(&self, _change: Change<'_>) {}

    fn online_elsewhere(&self, _user: UserId) -> bool {
        false
    }

    fn clustered(&self) -> bool {
        false
    }
}
