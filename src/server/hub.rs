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

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::store::{Store, StoreError};
use crate::protocol::{ConvId, Cursor, Member, Seq, UserId};

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
    /// Replay what the client lacks (its cursors), announce what it does not know, then `synced`.
    Resume(Vec<Cursor>),
    /// The user joined or was added to a conversation: announce it with recent history.
    Added(ConvId),
    /// The user left or was removed: say so and forget the conversation.
    Gone(ConvId),
    /// Close the socket after everything queued before.
    Close(u16, &'static str),
}

/// The sending side of one connection's queue.
#[derive(Clone, Debug)]
pub struct Mailbox {
    /// Whose connection it is.
    pub user: UserId,
    /// The bounded queue the connection's writer drains.
    pub queue: mpsc::Sender<Outgoing>,
    /// Cancelled to close the connection at once with "too slow".
    pub evict: CancellationToken,
}

impl Mailbox {
    /// Queues `item`; a full queue evicts the connection. `false` if it was not queued.
    pub fn push(&self, item: Outgoing) -> bool {
        match self.queue.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.evict.is_cancelled() {
                    ::metrics::counter!(super::metrics::EVICTIONS).increment(1);
                    tracing::info!(user = %self.user, "outgoing queue full; evicting connection");
                }
                self.evict.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues an ephemeral frame, or drops it if the queue is full.
    pub fn push_ephemeral(&self, text: Utf8Bytes) {
        let _ = self.queue.try_send(Outgoing::Ephemeral(text));
    }
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
}

/// The connection table and router.
pub struct Hub {
    /// Where membership is loaded from on a cache miss.
    store: Store,
    /// The tables; see the module doc for the locking rule.
    tables: Mutex<Tables>,
    /// Source of connection numbers.
    next: AtomicU64,
}

impl Hub {
    /// An empty hub over `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            tables: Mutex::new(Tables::default()),
            next: AtomicU64::new(1),
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

    /// Starts live delivery to a connection. Its `resume` marker is queued under the same lock
    /// as fan-out, so every live event lands behind it. `true` if the user just came online.
    pub fn subscribe(&self, id: ConnId, mailbox: Mailbox, cursors: Vec<Cursor>) -> bool {
        let mut tables = self.lock();
        let user = mailbox.user;
        mailbox.push(Outgoing::Resume(cursors));
        tables.conns.insert(id, mailbox);
        let conns = tables.by_user.entry(user).or_default();
        conns.push(id);
        let first = conns.len() == 1;
        ::metrics::gauge!(super::metrics::USERS_ONLINE).set(tables.by_user.len() as f64);
        first
    }

    /// Stops live delivery to a connection; returns its user if that was their last one.
    pub fn unsubscribe(&self, id: ConnId) -> Option<UserId> {
        let mut tables = self.lock();
        let mailbox = tables.conns.remove(&id)?;
        let conns = tables.by_user.get_mut(&mailbox.user)?;
        conns.retain(|c| *c != id);
        if conns.is_empty() {
            tables.by_user.remove(&mailbox.user);
            ::metrics::gauge!(super::metrics::USERS_ONLINE).set(tables.by_user.len() as f64);
            Some(mailbox.user)
        } else {
            None
        }
    }

    /// Whether any connection of `user` is live here.
    pub fn is_online(&self, user: UserId) -> bool {
        self.lock().by_user.contains_key(&user)
    }

    /// `conv`'s members with their names, each marked online if connected here (one lock).
    pub async fn member_list(&self, conv: ConvId) -> Result<Vec<Member>, StoreError> {
        let mut members = self.store.member_list(conv).await?;
        let tables = self.lock();
        for member in &mut members {
            member.online = tables.by_user.contains_key(&member.user);
        }
        Ok(members)
    }

    /// Which of `users` are online.
    pub fn online_among(&self, users: &[UserId]) -> Vec<UserId> {
        let tables = self.lock();
        users
            .iter()
            .copied()
            .filter(|u| tables.by_user.contains_key(u))
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

    /// Delivers an encoded event to every connection of every member of its conversation.
    pub fn publish(&self, conv: ConvId, seq: Seq, text: &Utf8Bytes, members: &[UserId]) {
        Self::publish_locked(&self.lock(), conv, seq, text, members, None);
    }

    fn publish_locked(
        tables: &Tables,
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
    }

    /// Queues something for every connection of `user` except `except`.
    pub fn to_user(&self, user: UserId, except: Option<ConnId>, item: impl Fn() -> Outgoing) {
        let tables = self.lock();
        for id in tables.by_user.get(&user).into_iter().flatten() {
            if Some(*id) != except
                && let Some(mailbox) = tables.conns.get(id)
            {
                mailbox.push(item());
            }
        }
    }

    /// Sends an ephemeral frame to every connection of `users` except `skip`'s.
    pub fn ephemeral(&self, users: &[UserId], skip: UserId, text: &Utf8Bytes) {
        let tables = self.lock();
        for user in users.iter().filter(|u| **u != skip) {
            for mailbox in tables.mailboxes(user) {
                mailbox.push_ephemeral(text.clone());
            }
        }
    }

    /// `user` joined `conv` (the store already says so): their connections learn of the
    /// conversation first, then every member receives the event. The member list is changed
    /// and published from in one critical section, so concurrent changes cannot undo each other.
    pub async fn member_added(
        &self,
        conv: ConvId,
        user: UserId,
        seq: Seq,
        text: &Utf8Bytes,
    ) -> Result<(), StoreError> {
        let loaded = self.members(conv).await?;
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
        Self::publish_locked(&tables, conv, seq, text, &updated, None);
        Ok(())
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
        let mut tables = self.lock();
        let entry = tables.members.entry(conv).or_insert(loaded);
        let mut recipients = (**entry).clone();
        if !recipients.contains(&user) {
            recipients.push(user);
        }
        let remaining: Vec<UserId> = recipients.iter().copied().filter(|u| *u != user).collect();
        *entry = Arc::new(remaining);
        Self::publish_locked(&tables, conv, seq, text, &recipients, Some(user));
        for mailbox in tables.mailboxes(&user) {
            mailbox.push(Outgoing::Gone(conv));
        }
        Ok(())
    }

    /// A new conversation exists with these members (direct pair or new room): tell their
    /// connections and remember the membership.
    pub fn conversation_created(&self, conv: ConvId, members: Vec<UserId>) {
        let mut tables = self.lock();
        for user in &members {
            for mailbox in tables.mailboxes(user) {
                mailbox.push(Outgoing::Added(conv));
            }
        }
        tables.members.insert(conv, Arc::new(members));
    }
}
