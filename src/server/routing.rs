//! Routing: who is connected, who is in which conversation, fan-out and presence.
//!
//! Every live connection that has sent `resume` has a [`Mailbox`] here: the sending side of its
//! bounded outgoing queue. The [`Hub`] routes by user (all of a user's connections, every tab and
//! device) and by conversation (every connection of every member). Nothing here waits on a
//! client: pushes are `try_send`; a full queue evicts that connection (close 4008), which then
//! resumes and loses nothing. Ephemeral frames (typing, presence) are simply dropped when a queue
//! is full, before anything that matters. Events are encoded once by the caller and shared
//! (`Utf8Bytes` is reference-counted) by every queue they go into.
//!
//! Each operation exists once and takes an [`Origin`]: a change made here is delivered here and
//! then told to the other nodes through [`Peers`]; a change heard from a peer is delivered here
//! only. What "other nodes" are is the cluster module's business; routing must not depend on it
//! (nor on the bus, Redis or any wire format). Below routing: the store, `wire`, metrics.
//!
//! Parts: `mailbox` (what is queued for a connection), `queue` (the bounded queue), `tables`
//! (the tables behind their one lock), `peers` (the trait to the other nodes), `presence`
//! (online edges and who is told).

mod mailbox;
mod peers;
mod presence;
pub mod queue;
mod tables;
#[cfg(test)]
mod tests;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::extract::ws::Utf8Bytes;

use self::tables::Tables;
pub use self::{
    mailbox::{ConnId, Mailbox, Outgoing, evict},
    peers::{Alone, Change, MemberChange, Membership, Origin, Peers},
    presence::{Flip, coalesce},
};
use super::store::{Store, StoreError};
use crate::protocol::{ConvId, Cursor, Req, Seq, UserId};

/// The connection table and router.
pub struct Hub {
    /// Where membership (and, for presence, contacts) is loaded from.
    store: Store,
    /// The tables; they take their own lock (see `tables`).
    tables: Tables,
    /// Source of connection numbers.
    next: AtomicU64,
    /// The other nodes ([`Alone`] on a single node).
    peers: Arc<dyn Peers>,
}

impl Hub {
    /// An empty hub over `store`, telling `peers` of every change made here.
    pub fn new(store: Store, peers: Arc<dyn Peers>) -> Self {
        Self {
            store,
            tables: Tables::new(peers.clustered()),
            next: AtomicU64::new(1),
            peers,
        }
    }

    /// An empty hub for a single node.
    pub fn alone(store: Store) -> Self {
        Self::new(store, Arc::new(Alone))
    }

    /// A fresh connection number.
    pub fn next_conn(&self) -> ConnId {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts live delivery to a connection. Its `resume` marker (with the request's `req`)
    /// is queued under the same lock as fan-out, so every live event lands behind it. `true`
    /// if the user just came online (here and, as far as this node knows, on every other node).
    /// Only through presence ([`Hub::go_online`]), which tells the contacts.
    fn subscribe(
        &self,
        id: ConnId,
        mailbox: Mailbox,
        cursors: Vec<Cursor>,
        req: Option<Req>,
    ) -> bool {
        let user = mailbox.user;
        let first_here =
            self.tables
                .subscribe(id, mailbox, Outgoing::Resume(cursors, req), |user| {
                    self.peers.tell(Change::Presence { user, online: true });
                });
        first_here && !self.peers.online_elsewhere(user)
    }

    /// Stops live delivery to a connection; returns its user if that was their last one here.
    /// Only through presence ([`Hub::go_offline`]).
    fn unsubscribe(&self, id: ConnId) -> Option<UserId> {
        self.tables.unsubscribe(id, |user| {
            self.peers.tell(Change::Presence {
                user,
                online: false,
            });
        })
    }

    /// How many connections are live.
    pub fn connections(&self) -> usize {
        self.tables.connections()
    }

    /// Every user online on this node.
    pub fn local_users(&self) -> Vec<UserId> {
        self.tables.local_users()
    }

    /// Whether `user` is online on this node.
    pub fn is_local(&self, user: UserId) -> bool {
        self.tables.is_local(user)
    }

    /// The members of `conv` (cached).
    pub async fn members(&self, conv: ConvId) -> Result<Arc<Vec<UserId>>, StoreError> {
        if let Some(members) = self.tables.cached_members(conv) {
            return Ok(members);
        }
        let loaded = Arc::new(self.store.members(conv).await?);
        if loaded.is_empty() {
            // No such conversation (or nobody left in it): not worth a table entry, so probing
            // ids cannot grow the table.
            return Ok(loaded);
        }
        Ok(self.tables.cache_members(conv, loaded))
    }

    /// The members of `conv` as a change from `origin` should see them: cached for a change
    /// made here; read afresh for one from another node, which may have changed them.
    async fn members_for(
        &self,
        conv: ConvId,
        origin: Origin,
    ) -> Result<Arc<Vec<UserId>>, StoreError> {
        if origin == Origin::Peer {
            self.tables.forget_members(conv);
        }
        self.members(conv).await
    }

    /// Whether `user` is a member of `conv`.
    pub async fn is_member(&self, conv: ConvId, user: UserId) -> Result<bool, StoreError> {
        Ok(self.members(conv).await?.contains(&user))
    }

    /// Tells the other nodes of `change` if it was made here.
    fn tell(&self, origin: Origin, change: Change<'_>) {
        if origin == Origin::Local {
            self.peers.tell(change);
        }
    }

    /// Delivers an encoded event at `seq` of `conv` to every connection of every member (here,
    /// and on every node if it was committed here).
    pub async fn publish(
        &self,
        conv: ConvId,
        seq: Seq,
        text: &Utf8Bytes,
        origin: Origin,
    ) -> Result<(), StoreError> {
        let members = self.members(conv).await?;
        self.tables.publish(conv, seq, text, &members);
        self.tell(origin, Change::Event { conv, seq, text });
        Ok(())
    }

    /// Sends a frame to every connection of `user` except `except`.
    pub fn to_user(&self, user: UserId, except: Option<ConnId>, text: &Utf8Bytes, origin: Origin) {
        self.tables.to_user(user, except, text);
        self.tell(origin, Change::ToUser { user, text });
    }

    /// Sends an ephemeral frame to every connection of `users` except `skip`'s.
    pub fn ephemeral(&self, users: &[UserId], skip: UserId, text: &Utf8Bytes, origin: Origin) {
        self.tables.ephemeral(users, skip, text);
        self.tell(origin, Change::Ephemeral { users, skip, text });
    }

    /// Someone joined or left a conversation (the store already says so). Joining:
    /// their connections learn of the conversation first, then every member receives the event.
    /// Leaving: every member, them included, receives the event, then their connections forget
    /// the conversation. The member list is changed and published from in one critical section,
    /// so concurrent changes cannot undo each other.
    pub async fn member_changed(
        &self,
        change: MemberChange<'_>,
        origin: Origin,
    ) -> Result<(), StoreError> {
        let loaded = self.members_for(change.conv, origin).await?;
        self.tables.change_member(change, loaded);
        self.tell(origin, Change::Member(change));
        Ok(())
    }

    /// A new conversation exists with these members (direct pair or new room): tell their
    /// connections and remember the membership.
    pub fn conversation_created(&self, conv: ConvId, members: Vec<UserId>, origin: Origin) {
        let change = Change::Created {
            conv,
            members: &members,
        };
        self.tell(origin, change);
        self.tables.created(conv, members);
    }

    /// Brings every connection here up to date with whatever changed since `since` (Unix ms)
    /// and was not routed here (cluster mode: lost or overtaken peer messages).
    pub async fn catch_up(&self, since: i64) {
        let changed = match self.store.changed_since(since).await {
            Ok(changed) => changed,
            Err(err) => {
                tracing::warn!(%err, "catch-up: cannot read what changed; will retry");
                return;
            }
        };
        let behind = self.tables.behind(changed);
        if !behind.is_empty() {
            ::metrics::counter!(super::metrics::CATCH_UPS).increment(behind.len() as u64);
            tracing::debug!(conversations = behind.len(), "catching up from the store");
        }
        for (conv, seq) in behind {
            // The member list is read afresh: a membership change may have been among what
            // this node missed.
            match self.members_for(conv, Origin::Peer).await {
                Ok(members) => self.tables.upto(conv, seq, &members),
                Err(err) => tracing::warn!(%err, %conv, "catch-up failed for a conversation"),
            }
        }
    }
}
