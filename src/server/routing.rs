//! The hub: who is connected, who is in which conversation, and fan-out.
//!
//! Every live connection that has sent `resume` has a [`Mailbox`] here: the sending side of its
//! bounded outgoing queue. The hub routes by user (all of a user's connections, every tab and
//! device) and by conversation (every connection of every member). Nothing here waits on a
//! client: pushes are `try_send`; a full queue evicts that connection (close 4008), which then
//! resumes and loses nothing. Ephemeral frames (typing, presence) are simply dropped when a queue
//! is full, before anything that matters.
//!
//! Locking: one std `Mutex` around the tables, held only for map operations and `try_send`s,
//! never across an `.await`. Events are encoded once by the caller and shared (`Utf8Bytes` is
//! reference-counted) by every queue they go into.

pub mod queue;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::extract::ws::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use super::{
    cluster::{Body, Bus, Envelope, Flip},
    store::{Store, StoreError},
    wire::encode,
};
use crate::protocol::{ConvId, Cursor, Member, Req, Seq, ServerFrame, UserId};

/// A connection's number, unique in this process.
pub type ConnId = u64;

/// What goes into a connection's outgoing queue.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded frame that must arrive (answers, acks, errors).
    Frame(Utf8Bytes),
    /// An encoded frame that may be lost (typing, presence).
    Ephemeral(Utf8Bytes),
    /// An encoded event at `seq` of `conv`; the writer delivers it in seq order, filling gaps
    /// from the store and dropping what the client already has.
    Event {
        /// Its conversation.
        conv: ConvId,
        /// Its seq.
        seq: Seq,
        /// The encoded `event` frame, shared by every recipient.
        text: Utf8Bytes,
        /// The user whose membership this event ends (left or removed), so that user's writers
        /// deliver nothing later of this conversation even if routed from an older member list.
        departs: Option<UserId>,
    },
    /// Replay what the client lacks (its cursors), announce what it does not know, tell it
    /// its read positions, then `synced` (echoing the `resume`'s `req`).
    Resume(Vec<Cursor>, Option<Req>),
    /// A WebSocket ping: the reader heard nothing for a heartbeat interval.
    Ping,
    /// `conv` has events up to `seq` that may not have been routed here (cluster catch-up):
    /// deliver whatever the client lacks up to there, from the store.
    Upto(ConvId, Seq),
    /// The user joined or was added to a conversation: announce it with recent history.
    Added(ConvId),
    /// The user left or was removed: say so and forget the conversation.
    Gone(ConvId),
    /// Close the socket after everything queued before.
    Close(u16, &'static str),
}

/// What every queued item costs besides its bytes: the slot itself and bookkeeping.
const ITEM_OVERHEAD: usize = 64;

impl queue::Cost for Outgoing {
    fn cost(&self) -> usize {
        ITEM_OVERHEAD
            + match self {
                Self::Frame(text) | Self::Ephemeral(text) | Self::Event { text, .. } => text.len(),
                Self::Resume(cursors, _) => cursors.len() * std::mem::size_of::<Cursor>(),
                Self::Upto(..) | Self::Added(_) | Self::Gone(_) | Self::Close(..) | Self::Ping => 0,
            }
    }
}

/// The sending side of one connection's queue.
#[derive(Clone, Debug)]
pub struct Mailbox {
    /// Whose connection it is.
    pub user: UserId,
    /// The bounded queue the connection's writer drains.
    pub queue: queue::Sender<Outgoing>,
    /// Cancelled to close the connection at once with "too slow".
    pub evict: CancellationToken,
}

impl Mailbox {
    /// Queues `item`; a connection over its byte budget, or whose oldest queued frame has
    /// waited too long, is evicted. `false` if it was not queued.
    pub fn push(&self, item: Outgoing) -> bool {
        let why = match self.queue.try_send(item) {
            Ok(()) => return true,
            Err(queue::TrySendError::Closed(_)) => return false,
            Err(queue::TrySendError::Full(_)) => "outgoing queue over its byte budget",
            Err(queue::TrySendError::Stale(_)) => "oldest queued frame waited too long",
        };
        self.evict_because(why);
        false
    }

    fn evict_because(&self, why: &'static str) {
        evict(&self.evict, self.user, why);
    }

    /// Queues an ephemeral frame, or drops it if the queue is full; a stuck connection is
    /// evicted all the same.
    pub fn push_ephemeral(&self, text: Utf8Bytes) {
        if let Err(queue::TrySendError::Stale(_)) = self.queue.try_send(Outgoing::Ephemeral(text)) {
            self.evict_because("oldest queued frame waited too long");
        }
    }
}

/// Evicts `user`'s connection behind `token` (counted and logged once, however many notice).
pub fn evict(token: &CancellationToken, user: UserId, why: &'static str) {
    if !token.is_cancelled() {
        ::metrics::counter!(super::metrics::EVICTIONS).increment(1);
        tracing::info!(user = %user, why, "client cannot keep up; evicting connection");
    }
    token.cancel();
}

/// The routing tables.
#[derive(Default)]
struct Tables {
    /// Every resumed connection.
    conns: HashMap<ConnId, Mailbox>,
    /// Each online user's connections.
    by_user: HashMap<UserId, Vec<ConnId>>,
    /// Conversation members, loaded from the store on first use and kept current by the
    /// membership operations (which all go through [`Hub::member_added`] / `member_removed`).
    members: HashMap<ConvId, Arc<Vec<UserId>>>,
    /// Cluster mode: the newest seq routed here per conversation, so a catch-up only touches
    /// conversations that moved on without this node hearing of it. Kept only in cluster mode.
    seen: HashMap<ConvId, Seq>,
    /// Whether this node is part of a cluster (and so keeps `seen`).
    cluster: bool,
}

impl Tables {
    /// Every live connection of `user`.
    fn mailboxes(&self, user: &UserId) -> impl Iterator<Item = &Mailbox> {
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|id| self.conns.get(id))
    }

    /// Records that `conv` reached `seq` here (cluster mode only).
    fn saw(&mut self, conv: ConvId, seq: Seq) {
        if self.cluster {
            let seen = self.seen.entry(conv).or_insert(seq);
            *seen = (*seen).max(seq);
        }
    }
}

/// The connection table and router.
pub struct Hub {
    /// Where membership is loaded from on a cache miss.
    store: Store,
    /// The tables; see the module doc for the locking rule.
    tables: Mutex<Tables>,
    /// Source of connection numbers.
    next: AtomicU64,
    /// Cluster mode: the other nodes.
    bus: Option<Bus>,
}

impl Hub {
    /// An empty hub over `store`; in cluster mode, `bus` reaches the other nodes.
    pub fn new(store: Store, bus: Option<Bus>) -> Self {
        Self {
            store,
            tables: Mutex::new(Tables {
                cluster: bus.is_some(),
                ..Tables::default()
            }),
            next: AtomicU64::new(1),
            bus,
        }
    }

    /// The bus to the other nodes, in cluster mode.
    pub fn bus(&self) -> Option<&Bus> {
        self.bus.as_ref()
    }

    /// Publishes `body` to the other nodes, in cluster mode.
    fn broadcast(&self, body: impl FnOnce() -> Body) {
        if let Some(bus) = &self.bus {
            bus.publish(body());
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // Every critical section is a handful of map operations that cannot leave the tables
        // half-updated, so a poisoned lock is still consistent.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh connection number.
    pub fn next_conn(&self) -> ConnId {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts live delivery to a connection. Its `resume` marker (with the request's `req`)
    /// is queued under the same lock as fan-out, so every live event lands behind it. `true`
    /// if the user just came online (here and, as far as this node knows, on every other node).
    pub fn subscribe(
        &self,
        id: ConnId,
        mailbox: Mailbox,
        cursors: Vec<Cursor>,
        req: Option<Req>,
    ) -> bool {
        let mut tables = self.lock();
        let user = mailbox.user;
        mailbox.push(Outgoing::Resume(cursors, req));
        tables.conns.insert(id, mailbox);
        let conns = tables.by_user.entry(user).or_default();
        conns.push(id);
        let first_here = conns.len() == 1;
        ::metrics::gauge!(super::metrics::USERS_ONLINE).set(tables.by_user.len() as f64);
        // Lock order: the bus's peer table is taken before these tables (it asks who is local
        // while holding it), never after; so these are released before asking the bus.
        drop(tables);
        if first_here {
            self.broadcast(|| Body::Presence { user, online: true });
        }
        first_here
            && !self
                .bus
                .as_ref()
                .is_some_and(|bus| bus.online_elsewhere(user))
    }

    /// Stops live delivery to a connection; returns its user if that was their last one here.
    pub fn unsubscribe(&self, id: ConnId) -> Option<UserId> {
        let mut tables = self.lock();
        let mailbox = tables.conns.remove(&id)?;
        let conns = tables.by_user.get_mut(&mailbox.user)?;
        conns.retain(|c| *c != id);
        if conns.is_empty() {
            tables.by_user.remove(&mailbox.user);
            ::metrics::gauge!(super::metrics::USERS_ONLINE).set(tables.by_user.len() as f64);
            let user = mailbox.user;
            self.broadcast(|| Body::Presence {
                user,
                online: false,
            });
            Some(user)
        } else {
            None
        }
    }

    /// Whether `user` has a live connection here or (cluster mode) on another node.
    pub fn is_online(&self, user: UserId) -> bool {
        // Two statements: the tables' guard must be gone before the bus's lock is taken.
        let here = self.is_local(user);
        here || self
            .bus
            .as_ref()
            .is_some_and(|bus| bus.online_elsewhere(user))
    }

    /// Up to `limit` of `conv`'s members by username, each marked online if connected here.
    pub async fn member_list(&self, conv: ConvId, limit: u32) -> Result<Vec<Member>, StoreError> {
        let mut members = self.store.member_list(conv, limit).await?;
        for member in &mut members {
            member.online = self.is_online(member.user);
        }
        Ok(members)
    }

    /// Which of `users` are online.
    pub fn online_among(&self, users: &[UserId]) -> Vec<UserId> {
        users
            .iter()
            .copied()
            .filter(|u| self.is_online(*u))
            .collect()
    }

    /// How many connections are live.
    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }

    /// The members of `conv` (cached).
    pub async fn members(&self, conv: ConvId) -> Result<Arc<Vec<UserId>>, StoreError> {
        if let Some(members) = self.lock().members.get(&conv) {
            return Ok(Arc::clone(members));
        }
        let loaded = Arc::new(self.store.members(conv).await?);
        if loaded.is_empty() {
            // No such conversation (or nobody left in it): not worth a table entry, so probing
            // ids cannot grow the table.
            return Ok(loaded);
        }
        // Another task may have loaded (or changed) it meanwhile; theirs is at least as new.
        Ok(Arc::clone(
            self.lock().members.entry(conv).or_insert(loaded),
        ))
    }

    /// Whether `user` is a member of `conv`.
    pub async fn is_member(&self, conv: ConvId, user: UserId) -> Result<bool, StoreError> {
        Ok(self.members(conv).await?.contains(&user))
    }

    /// Delivers an encoded event to every connection of every member of its conversation, on
    /// every node.
    pub fn publish(&self, conv: ConvId, seq: Seq, text: &Utf8Bytes, members: &[UserId]) {
        Self::publish_locked(&mut self.lock(), conv, seq, text, members, None);
        self.broadcast(|| Body::Event {
            conv,
            seq,
            text: text.as_str().to_owned(),
        });
    }

    fn publish_locked(
        tables: &mut Tables,
        conv: ConvId,
        seq: Seq,
        text: &Utf8Bytes,
        members: &[UserId],
        departs: Option<UserId>,
    ) {
        let mut queued = 0u64;
        for user in members {
            for mailbox in tables.mailboxes(user) {
                queued += u64::from(mailbox.push(Outgoing::Event {
                    conv,
                    seq,
                    text: text.clone(),
                    departs,
                }));
            }
        }
        ::metrics::counter!(super::metrics::DELIVERIES).increment(queued);
        tables.saw(conv, seq);
    }

    /// Sends a frame to every connection of `user` (on every node) except `except`.
    pub fn to_user(&self, user: UserId, except: Option<ConnId>, text: &Utf8Bytes) {
        self.to_user_here(user, except, text);
        self.broadcast(|| Body::ToUser {
            user,
            text: text.as_str().to_owned(),
        });
    }

    /// Sends a frame to this node's connections of `user` except `except`.
    fn to_user_here(&self, user: UserId, except: Option<ConnId>, text: &Utf8Bytes) {
        let tables = self.lock();
        for id in tables.by_user.get(&user).into_iter().flatten() {
            if Some(*id) != except
                && let Some(mailbox) = tables.conns.get(id)
            {
                mailbox.push(Outgoing::Frame(text.clone()));
            }
        }
    }

    /// Sends an ephemeral frame to every connection of `users` except `skip`'s, on every node.
    pub fn ephemeral(&self, users: &[UserId], skip: UserId, text: &Utf8Bytes) {
        self.ephemeral_here(users, skip, text);
        self.broadcast(|| Body::Ephemeral {
            users: users.to_vec(),
            skip,
            text: text.as_str().to_owned(),
        });
    }

    /// Sends an ephemeral frame to this node's connections of `users` except `skip`'s.
    pub fn ephemeral_here(&self, users: &[UserId], skip: UserId, text: &Utf8Bytes) {
        let tables = self.lock();
        for user in users.iter().filter(|u| **u != skip) {
            for mailbox in tables.mailboxes(user) {
                mailbox.push_ephemeral(text.clone());
            }
        }
    }

    /// `user` joined `conv` (the store already says so): their connections learn of the
    /// conversation first, then every member receives the event, on every node. The member
    /// list is changed and published from in one critical section, so concurrent changes cannot
    /// undo each other.
    pub async fn member_added(
        &self,
        conv: ConvId,
        user: UserId,
        seq: Seq,
        text: &Utf8Bytes,
    ) -> Result<(), StoreError> {
        let loaded = self.members(conv).await?;
        self.added_here(conv, user, seq, text, loaded);
        self.broadcast(|| Body::MemberAdded {
            conv,
            user,
            seq,
            text: text.as_str().to_owned(),
        });
        Ok(())
    }

    fn added_here(
        &self,
        conv: ConvId,
        user: UserId,
        seq: Seq,
        text: &Utf8Bytes,
        loaded: Arc<Vec<UserId>>,
    ) {
        let mut tables = self.lock();
        let entry = tables.members.entry(conv).or_insert(loaded);
        let mut updated = (**entry).clone();
        if !updated.contains(&user) {
            updated.push(user);
        }
        let updated = Arc::new(updated);
        *entry = Arc::clone(&updated);
        for mailbox in tables.mailboxes(&user) {
            mailbox.push(Outgoing::Added(conv));
        }
        Self::publish_locked(&mut tables, conv, seq, text, &updated, None);
    }

    /// `user` left or was removed from `conv` (the store already says so): every member,
    /// them included, receives the event; then their connections forget the conversation.
    pub async fn member_removed(
        &self,
        conv: ConvId,
        user: UserId,
        seq: Seq,
        text: &Utf8Bytes,
    ) -> Result<(), StoreError> {
        let loaded = self.members(conv).await?;
        self.removed_here(conv, user, seq, text, loaded);
        self.broadcast(|| Body::MemberRemoved {
            conv,
            user,
            seq,
            text: text.as_str().to_owned(),
        });
        Ok(())
    }

    fn removed_here(
        &self,
        conv: ConvId,
        user: UserId,
        seq: Seq,
        text: &Utf8Bytes,
        loaded: Arc<Vec<UserId>>,
    ) {
        let mut tables = self.lock();
        let entry = tables.members.entry(conv).or_insert(loaded);
        let mut recipients = (**entry).clone();
        if !recipients.contains(&user) {
            recipients.push(user);
        }
        let remaining: Vec<UserId> = recipients.iter().copied().filter(|u| *u != user).collect();
        *entry = Arc::new(remaining);
        Self::publish_locked(&mut tables, conv, seq, text, &recipients, Some(user));
        for mailbox in tables.mailboxes(&user) {
            mailbox.push(Outgoing::Gone(conv));
        }
    }

    /// A new conversation exists with these members (direct pair or new room): tell their
    /// connections, on every node, and remember the membership.
    pub fn conversation_created(&self, conv: ConvId, members: Vec<UserId>) {
        self.broadcast(|| Body::Created {
            conv,
            members: members.clone(),
        });
        self.created_here(conv, members);
    }

    fn created_here(&self, conv: ConvId, members: Vec<UserId>) {
        let mut tables = self.lock();
        for user in &members {
            for mailbox in tables.mailboxes(user) {
                mailbox.push(Outgoing::Added(conv));
            }
        }
        tables.members.insert(conv, Arc::new(members));
    }

    /// The member list of `conv` read afresh from the store (another node changed it, so what
    /// is cached here may be out of date).
    async fn reload_members(&self, conv: ConvId) -> Result<Arc<Vec<UserId>>, StoreError> {
        self.lock().members.remove(&conv);
        self.members(conv).await
    }

    /// Delivers to this node's connections an event another node committed and published.
    async fn event_from_peer(&self, conv: ConvId, seq: Seq, text: Utf8Bytes) {
        match self.members(conv).await {
            Ok(members) => {
                Self::publish_locked(&mut self.lock(), conv, seq, &text, &members, None);
            }
            Err(err) => tracing::warn!(%err, %conv, "cannot route a bus event; the sweep will"),
        }
    }

    /// Queues `Upto(conv, seq)` for every connection here of a member of `conv`. The member
    /// list is read afresh: a membership change may have been among what this node missed.
    async fn upto(&self, conv: ConvId, seq: Seq) -> Result<(), StoreError> {
        let members = self.reload_members(conv).await?;
        let mut tables = self.lock();
        for user in members.iter() {
            for mailbox in tables.mailboxes(user) {
                mailbox.push(Outgoing::Upto(conv, seq));
            }
        }
        tables.saw(conv, seq);
        Ok(())
    }
}

/// What the bus asks of the hub (cluster mode).
impl Hub {
    /// Applies a message from another node to this node's connections.
    pub async fn apply(&self, envelope: Envelope) {
        match envelope.body {
            Body::Event { conv, seq, text } => {
                self.event_from_peer(conv, seq, Utf8Bytes::from(text)).await;
            }
            Body::MemberAdded {
                conv,
                user,
                seq,
                text,
            } => match self.reload_members(conv).await {
                Ok(loaded) => self.added_here(conv, user, seq, &Utf8Bytes::from(text), loaded),
                Err(err) => tracing::warn!(%err, %conv, "cannot apply a bus membership change"),
            },
            Body::MemberRemoved {
                conv,
                user,
                seq,
                text,
            } => match self.reload_members(conv).await {
                Ok(loaded) => self.removed_here(conv, user, seq, &Utf8Bytes::from(text), loaded),
                Err(err) => tracing::warn!(%err, %conv, "cannot apply a bus membership change"),
            },
            Body::Created { conv, members } => self.created_here(conv, members),
            Body::ToUser { user, text } => self.to_user_here(user, None, &Utf8Bytes::from(text)),
            Body::Ephemeral { users, skip, text } => {
                self.ephemeral_here(&users, skip, &Utf8Bytes::from(text));
            }
            // Handled by the bus itself (presence, catch-up) or by `Live` (revocation).
            Body::Revoke { .. }
            | Body::Presence { .. }
            | Body::Hello {}
            | Body::Snapshot { .. }
            | Body::Heartbeat {}
            | Body::CatchUp { .. } => {}
        }
    }

    /// Brings every connection here up to date with whatever changed since `since` (Unix ms)
    /// and was not routed here.
    pub async fn catch_up(&self, since: i64) {
        let changed = match self.store.changed_since(since).await {
            Ok(changed) => changed,
            Err(err) => {
                tracing::warn!(%err, "catch-up: cannot read what changed; will retry");
                return;
            }
        };
        let behind: Vec<(ConvId, Seq)> = {
            let tables = self.lock();
            changed
                .into_iter()
                .filter(|(conv, seq)| tables.seen.get(conv).is_none_or(|seen| seen < seq))
                .collect()
        };
        if !behind.is_empty() {
            ::metrics::counter!(super::metrics::CATCH_UPS).increment(behind.len() as u64);
            tracing::debug!(conversations = behind.len(), "catching up from the store");
        }
        for (conv, seq) in behind {
            if let Err(err) = self.upto(conv, seq).await {
                tracing::warn!(%err, %conv, "catch-up failed for a conversation");
            }
        }
    }

    /// Every user online on this node.
    pub fn local_users(&self) -> Vec<UserId> {
        self.lock().by_user.keys().copied().collect()
    }

    /// Whether `user` is online on this node.
    pub fn is_local(&self, user: UserId) -> bool {
        self.lock().by_user.contains_key(&user)
    }

    /// Tells this node's connections of changes in users' cluster-wide presence.
    pub async fn announce(&self, flips: Vec<Flip>) {
        for (user, online) in flips {
            if self.lock().by_user.is_empty() {
                // Nobody here to tell.
                return;
            }
            let contacts = match self.store.contacts(user).await {
                Ok(contacts) => contacts,
                Err(err) => {
                    tracing::warn!(%err, "cannot announce presence");
                    continue;
                }
            };
            // Re-checked after the await: a later change may have overtaken this one.
            if self.is_online(user) == online {
                let text = encode(&ServerFrame::Presence { user, online });
                self.ephemeral_here(&contacts, user, &text);
            }
        }
    }
}
