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

use super::{
    mailbox::{ConnId, Mailbox, Outgoing},
    peers::{MemberChange, Membership},
};
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

    /// Someone joined or left a conversation, in one critical section so that concurrent changes
    /// cannot undo each other. Joining: adds them to the member list (`loaded` if none is cached),
    /// tells their connections of the conversation, then delivers the event to every member.
    /// Leaving: delivers the event to every member, them included, takes them off the list,
    /// then their connections forget the conversation.
    pub(super) fn change_member(&self, change: MemberChange<'_>, loaded: Arc<Vec<UserId>>) {
        let MemberChange {
            membership,
            conv,
            user,
            seq,
            text,
        } = change;
        let mut inner = self.lock();
        let entry = inner.members_or(conv, loaded);
        let mut with_user = (**entry).clone();
        if !with_user.contains(&user) {
            with_user.push(user);
        }
        match membership {
            Membership::Added => {
                let updated = Arc::new(with_user);
                *entry = Arc::clone(&updated);
                inner.push_to(&user, || Outgoing::Added(conv));
                inner.fan_out(conv, seq, text, &updated, None);
            }
            Membership::Removed => {
                *entry = Arc::new(with_user.iter().copied().filter(|u| *u != user).collect());
                inner.fan_out(conv, seq, text, &with_user, Some(user));
                inner.push_to(&user, || Outgoing::Gone(conv));
            }
        }
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::{super::mailbox::testing::*, *};

    fn text(s: &str) -> Utf8Bytes {
        Utf8Bytes::from(s.to_owned())
    }

    #[tokio::test]
    async fn only_a_users_first_and_last_connection_are_edges() {
        let tables = Tables::new(false);
        let (a1, mut rx1) = mailbox(1);
        let (a2, _rx2) = mailbox(1);
        let edges = Cell::new(0);
        let edge = |_| edges.set(edges.get() + 1);
        assert!(tables.subscribe(1, a1, Outgoing::Resume(vec![], None), edge));
        assert!(!tables.subscribe(2, a2, Outgoing::Resume(vec![], None), edge));
        assert_eq!(edges.get(), 1);
        assert!(tables.is_local(UserId(1)) && tables.connections() == 2);
        assert_eq!(tables.unsubscribe(1, edge), None);
        assert_eq!(edges.get(), 1);
        assert_eq!(tables.unsubscribe(2, edge), Some(UserId(1)));
        assert_eq!(tables.unsubscribe(2, edge), None, "already gone");
        assert_eq!(edges.get(), 2);
        assert!(!tables.is_local(UserId(1)) && tables.local_users().is_empty());
        assert_eq!(drain(&mut rx1).await, ["resume 0"]);
    }

    #[tokio::test]
    async fn fan_out_reaches_every_connection_of_the_members_and_no_one_else() {
        let tables = Tables::new(false);
        let (ann1, mut ann1_rx) = mailbox(1);
        let (ann2, mut ann2_rx) = mailbox(1);
        let (bob, mut bob_rx) = mailbox(2);
        let (cy, mut cy_rx) = mailbox(3);
        for (id, mailbox) in [(1, ann1), (2, ann2), (3, bob), (4, cy)] {
            tables.subscribe(id, mailbox, Outgoing::Ping, |_| {});
        }
        let (ann, bob, cy) = (UserId(1), UserId(2), UserId(3));
        tables.publish(ConvId(7), Seq(1), &text("m"), &[ann, bob]);
        tables.to_user(ann, Some(1), &text("read"));
        tables.ephemeral(&[ann, bob, cy], bob, &text("typing"));
        let ev = "event 7@1 m departs None";
        assert_eq!(drain(&mut ann1_rx).await, ["other", ev, "ephemeral typing"]);
        assert_eq!(
            drain(&mut ann2_rx).await,
            ["other", ev, "frame read", "ephemeral typing"]
        );
        assert_eq!(drain(&mut bob_rx).await, ["other", ev]);
        assert_eq!(drain(&mut cy_rx).await, ["other", "ephemeral typing"]);
    }

    #[tokio::test]
    async fn membership_changes_announce_the_conversation_and_update_the_cache() {
        let tables = Tables::new(false);
        let (ann, bob) = (UserId(1), UserId(2));
        let (ann_box, mut ann_rx) = mailbox(1);
        let (bob_box, mut bob_rx) = mailbox(2);
        tables.subscribe(1, ann_box, Outgoing::Ping, |_| {});
        tables.subscribe(2, bob_box, Outgoing::Ping, |_| {});
        let conv = ConvId(5);
        tables.created(conv, vec![ann]);
        let change = |membership, seq, text| MemberChange {
            membership,
            conv,
            user: bob,
            seq: Seq(seq),
            text,
        };
        let (joined, left) = (text("joined"), text("left"));
        tables.change_member(change(Membership::Added, 2, &joined), Arc::new(vec![]));
        assert_eq!(
            tables.cached_members(conv).as_deref(),
            Some(&vec![ann, bob])
        );
        tables.change_member(change(Membership::Removed, 3, &left), Arc::new(vec![]));
        assert_eq!(tables.cached_members(conv).as_deref(), Some(&vec![ann]));
        let (joined, left) = (
            "event 5@2 joined departs None",
            "event 5@3 left departs Some(UserId(2))",
        );
        assert_eq!(drain(&mut ann_rx).await, ["other", "added 5", joined, left]);
        assert_eq!(
            drain(&mut bob_rx).await,
            ["other", "added 5", joined, left, "gone 5"]
        );
        // What another task loaded first stays: it is at least as new.
        let cached = tables.cache_members(ConvId(9), Arc::new(vec![ann]));
        assert_eq!(
            *tables.cache_members(ConvId(9), Arc::new(vec![bob])),
            *cached
        );
        tables.forget_members(ConvId(9));
        assert_eq!(tables.cached_members(ConvId(9)), None);
    }

    #[test]
    fn only_a_cluster_node_remembers_what_was_routed_for_catch_up() {
        let changed = vec![(ConvId(1), Seq(4)), (ConvId(2), Seq(9))];
        let alone = Tables::new(false);
        alone.publish(ConvId(1), Seq(4), &text("m"), &[]);
        assert_eq!(alone.behind(changed.clone()), changed);
        let node = Tables::new(true);
        node.publish(ConvId(1), Seq(4), &text("m"), &[]);
        node.upto(ConvId(2), Seq(8), &[]);
        assert_eq!(node.behind(changed), [(ConvId(2), Seq(9))]);
    }
}
