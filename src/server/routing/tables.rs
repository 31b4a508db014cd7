//! The routing tables — connections, each user's connections, conversation members — behind
//! one lock.
//!
//! The lock is private to [`Tables`]: every method takes it once, does a handful of map
//! operations and non-blocking pushes, and releases it before returning. So no caller can hold
//! it across an `.await` or while taking another lock, and there is no lock order to keep.
//! The one call out made under it is the `edge` callback of [`Tables::subscribe`] and
//! [`Tables::unsubscribe`], which must not wait (see `Peers::tell`).
//!
//! Depends on the mailbox and metrics only: nothing here reads the store or knows of peers.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use axum::extract::ws::Utf8Bytes;

use super::mailbox::{ConnId, Mailbox, Outgoing};
use crate::{
    protocol::{ConvId, Seq, UserId},
    server::metrics,
};

/// What the lock guards.
#[derive(Default)]
struct Inner {
    /// Every resumed connection.
    conns: HashMap<ConnId, Mailbox>,
    /// Each online user's connections.
    by_user: HashMap<UserId, Vec<ConnId>>,
    /// Conversation members, loaded from the store on first use and kept current by the
    /// membership operations.
    members: HashMap<ConvId, Arc<Vec<UserId>>>,
    /// Cluster mode: the newest seq routed here per conversation, so a catch-up only touches
    /// conversations that moved on without this node hearing of it. Kept only in cluster mode.
    seen: HashMap<ConvId, Seq>,
    /// Whether this node is part of a cluster (and so keeps `seen`).
    cluster: bool,
}

impl Inner {
    /// Every live connection of `user`.
    fn mailboxes(&self, user: &UserId) -> impl Iterator<Item = &Mailbox> {
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|id| self.conns.get(id))
    }

    /// Queues `item()` for every live connection of `user`.
    fn push_to(&self, user: &UserId, item: impl Fn() -> Outgoing) {
        for mailbox in self.mailboxes(user) {
            mailbox.push(item());
        }
    }

    /// Queues the event for every connection of `members`; counts the deliveries.
    fn fan_out(
        &mut self,
        conv: ConvId,
        seq: Seq,
        text: &Utf8Bytes,
        members: &[UserId],
        departs: Option<UserId>,
    ) {
        let mut queued = 0u64;
        for user in members {
            for mailbox in self.mailboxes(user) {
                queued += u64::from(mailbox.push(Outgoing::Event {
                    conv,
                    seq,
                    text: text.clone(),
                    departs,
                }));
            }
        }
        ::metrics::counter!(metrics::DELIVERIES).increment(queued);
        self.saw(conv, seq);
    }

    /// Records that `conv` reached `seq` here (cluster mode only).
    fn saw(&mut self, conv: ConvId, seq: Seq) {
        if self.cluster {
            let seen = self.seen.entry(conv).or_insert(seq);
            *seen = (*seen).max(seq);
        }
    }

    /// The cached member list of `conv`, or `loaded` if there is none yet.
    fn members_or(&mut self, conv: ConvId, loaded: Arc<Vec<UserId>>) -> &mut Arc<Vec<UserId>> {
        self.members.entry(conv).or_insert(loaded)
    }

    fn online_gauge(&self) {
        ::metrics::gauge!(metrics::USERS_ONLINE).set(self.by_user.len() as f64);
    }
}

/// The routing tables; see the module doc for the locking rule.
#[derive(Default)]
pub(super) struct Tables(Mutex<Inner>);

impl Tables {
    /// Empty tables; `cluster` keeps the catch-up bookkeeping.
    pub(super) fn new(cluster: bool) -> Self {
        Self(Mutex::new(Inner {
            cluster,
            ..Inner::default()
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section is a handful of map operations that cannot leave the tables
        // half-updated, so a poisoned lock is still consistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection, queuing `first` for it under the same lock as fan-out, so everything
    /// routed later lands behind it. If it is its user's first connection here, calls
    /// `edge(user)` before the lock is released and returns `true`.
    pub(super) fn subscribe(
        &self,
        id: ConnId,
        mailbox: Mailbox,
        first: Outgoing,
        edge: impl FnOnce(UserId),
    ) -> bool {
        let mut inner = self.lock();
        let user = mailbox.user;
        mailbox.push(first);
        inner.conns.insert(id, mailbox);
        let conns = inner.by_user.entry(user).or_default();
        conns.push(id);
        let first_here = conns.len() == 1;
        inner.online_gauge();
        if first_here {
            edge(user);
        }
        first_here
    }

    /// Removes a connection. If it was its user's last one here, calls `edge(user)` before the
    /// lock is released and returns the user.
    pub(super) fn unsubscribe(&self, id: ConnId, edge: impl FnOnce(UserId)) -> Option<UserId> {
        let mut inner = self.lock();
        let user = inner.conns.remove(&id)?.user;
        let conns = inner.by_user.get_mut(&user)?;
        conns.retain(|c| *c != id);
        if !conns.is_empty() {
            return None;
        }
        inner.by_user.remove(&user);
        inner.online_gauge();
        edge(user);
        Some(user)
    }

    /// Whether `user` has a connection here.
    pub(super) fn is_local(&self, user: UserId) -> bool {
        self.lock().by_user.contains_key(&user)
    }

    /// Every user with a connection here.
    pub(super) fn local_users(&self) -> Vec<UserId> {
        self.lock().by_user.keys().copied().collect()
    }

    /// How many connections there are.
    pub(super) fn connections(&self) -> usize {
        self.lock().conns.len()
    }

    /// The cached member list of `conv`.
    pub(super) fn cached_members(&self, conv: ConvId) -> Option<Arc<Vec<UserId>>> {
        self.lock().members.get(&conv).map(Arc::clone)
    }

    /// Caches `loaded` as the members of `conv` unless another task got there first (theirs is
    /// at least as new); returns what is cached.
    pub(super) fn cache_members(&self, conv: ConvId, loaded: Arc<Vec<UserId>>) -> Arc<Vec<UserId>> {
        Arc::clone(self.lock().members_or(conv, loaded))
    }

    /// Forgets the cached members of `conv`.
    pub(super) fn forget_members(&self, conv: ConvId) {
        self.lock().members.remove(&conv);
    }

    /// Queues an event for every connection here of `members`.
    pub(super) fn publish(&self, conv: ConvId, seq: Seq, text: &Utf8Bytes, members: &[UserId]) {
        self.lock().fan_out(conv, seq, text, members, None);
    }

    /// Queues a frame for every connection here of `user` except `except`.
    pub(super) fn to_user(&self, user: UserId, except: Option<ConnId>, text: &Utf8Bytes) {
        let inner = self.lock();
        for id in inner.by_user.get(&user).into_iter().flatten() {
            if Some(*id) != except
                && let Some(mailbox) = inner.conns.get(id)
            {
                mailbox.push(Outgoing::Frame(text.clone()));
            }
        }
    }

    /// Queues an ephemeral frame for every connection here of `users` except `skip`'s.
    pub(super) fn ephemeral(&self, users: &[UserId], skip: UserId, text: &Utf8Bytes) {
        let inner = self.lock();
        for user in users.iter().filter(|u| **u != skip) {
            for mailbox in inner.mailboxes(user) {
                mailbox.push_ephemeral(text.clone());
            }
        }
    }

    /// `user` joined `conv`: adds them to the member list (`loaded` if none is cached), tells
    /// their connections of the conversation, then delivers the event to every member. One
    /// critical section, so concurrent changes cannot undo each other.
    pub(super) fn add_member(
        &self,
        conv: ConvId,
        user: UserId,
        seq: Seq,
        text: &Utf8Bytes,
        loaded: Arc<Vec<UserId>>,
    ) {
        let mut inner = self.lock();
        let entry = inner.members_or(conv, loaded);
        let mut updated = (**entry).clone();
        if !updated.contains(&user) {
            updated.push(user);
        }
        let updated = Arc::new(updated);
        *entry = Arc::clone(&updated);
        inner.push_to(&user, || Outgoing::Added(conv));
        inner.fan_out(conv, seq, text, &updated, None);
    }

    /// `user` left `conv`: delivers the event to every member, them included, takes them off
    /// the member list (`loaded` if none is cached), then their connections forget it.
    pub(super) fn remove_member(
        &self,
        conv: ConvId,
        user: UserId,
        seq: Seq,
        text: &Utf8Bytes,
        loaded: Arc<Vec<UserId>>,
    ) {
        let mut inner = self.lock();
        let entry = inner.members_or(conv, loaded);
        let mut recipients = (**entry).clone();
        if !recipients.contains(&user) {
            recipients.push(user);
        }
        *entry = Arc::new(recipients.iter().copied().filter(|u| *u != user).collect());
        inner.fan_out(conv, seq, text, &recipients, Some(user));
        inner.push_to(&user, || Outgoing::Gone(conv));
    }

    /// A new conversation with `members`: tells their connections and caches the membership.
    pub(super) fn created(&self, conv: ConvId, members: Vec<UserId>) {
        let mut inner = self.lock();
        for user in &members {
            inner.push_to(user, || Outgoing::Added(conv));
        }
        inner.members.insert(conv, Arc::new(members));
    }

    /// Queues `Upto(conv, seq)` for every connection here of `members`.
    pub(super) fn upto(&self, conv: ConvId, seq: Seq, members: &[UserId]) {
        let mut inner = self.lock();
        for user in members {
            inner.push_to(user, || Outgoing::Upto(conv, seq));
        }
        inner.saw(conv, seq);
    }

    /// Which of `changed` (conversation, newest seq) moved past what was routed here.
    pub(super) fn behind(&self, changed: Vec<(ConvId, Seq)>) -> Vec<(ConvId, Seq)> {
        let inner = self.lock();
        changed
            .into_iter()
            .filter(|(conv, seq)| inner.seen.get(conv).is_none_or(|seen| seen < seq))
            .collect()
    }
}
