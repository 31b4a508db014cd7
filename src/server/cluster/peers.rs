//! What this node knows of its peers: which nodes are alive and which users each has online.
//!
//! Pure bookkeeping behind one lock, taken only inside these methods and never while calling
//! anything else (in particular, never while asking routing who is online here): each method
//! returns the users whose presence on *other* nodes changed, and the caller leaves out those
//! online here, whose cluster-wide status did not change.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use crate::{
    protocol::UserId,
    server::{metrics, routing::Flip},
};

/// What a node knows of one peer.
#[derive(Debug)]
struct Peer {
    /// When anything was last heard from it.
    heard: Instant,
    /// Its online users.
    users: HashSet<UserId>,
}

/// What one message from a peer says about presence.
#[derive(Clone, Copy, Debug)]
pub enum Heard<'a> {
    /// The peer is alive; nothing about its users.
    Alive,
    /// `user` came online (`true`) or went offline on the peer.
    Presence(UserId, bool),
    /// Every user online on the peer.
    Snapshot(&'a [UserId]),
}

/// The peers heard from, with their online users.
#[derive(Debug, Default)]
pub struct PeerTable(Mutex<HashMap<Arc<str>, Peer>>);

impl PeerTable {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Peer>> {
        // Every critical section is a few set operations; a poisoned lock is still consistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `user` is online on some peer.
    pub fn online_elsewhere(&self, user: UserId) -> bool {
        any_has(&self.lock(), user)
    }

    /// Records a message heard from `node` (now): returns the users whose presence on other
    /// nodes changed (with their new state), and whether `node` was unknown until now.
    pub fn heard(&self, node: &Arc<str>, heard: Heard<'_>) -> (Vec<Flip>, bool) {
        let mut peers = self.lock();
        let known = peers.contains_key(node);
        if !known {
            tracing::info!(peer = %node, "peer joined");
        }
        let mut flips = Vec::new();
        match heard {
            Heard::Alive => {
                peer_entry(&mut peers, node);
            }
            Heard::Presence(user, online) => {
                let before = any_has(&peers, user);
                let peer = peer_entry(&mut peers, node);
                if online {
                    peer.users.insert(user);
                } else {
                    peer.users.remove(&user);
                }
                let after = any_has(&peers, user);
                if before != after {
                    flips.push((user, after));
                }
            }
            Heard::Snapshot(users) => {
                let old = peers.get(node).map(|p| p.users.clone()).unwrap_or_default();
                let new: HashSet<UserId> = users.iter().copied().collect();
                let changed: Vec<UserId> = old.symmetric_difference(&new).copied().collect();
                let before: Vec<bool> = changed.iter().map(|u| any_has(&peers, *u)).collect();
                peer_entry(&mut peers, node).users = new;
                for (user, before) in changed.into_iter().zip(before) {
                    let after = any_has(&peers, user);
                    if before != after {
                        flips.push((user, after));
                    }
                }
            }
        }
        ::metrics::gauge!(metrics::CLUSTER_PEERS).set(peers.len() as f64);
        (flips, !known)
    }

    /// Forgets peers not heard from within `ttl`; returns the users now online on no other
    /// node because of it.
    pub fn expire(&self, ttl: Duration) -> Vec<Flip> {
        let mut peers = self.lock();
        let dead: Vec<Arc<str>> = peers
            .iter()
            .filter(|(_, p)| p.heard.elapsed() > ttl)
            .map(|(n, _)| Arc::clone(n))
            .collect();
        let mut flips = Vec::new();
        for node in dead {
            let Some(peer) = peers.remove(&node) else {
                continue;
            };
            tracing::warn!(peer = %node, users = peer.users.len(), "peer not heard from within cluster.presence_ttl_ms; taking it for dead");
            for user in peer.users {
                if !any_has(&peers, user) {
                    flips.push((user, false));
                }
            }
        }
        ::metrics::gauge!(metrics::CLUSTER_PEERS).set(peers.len() as f64);
        flips
    }
}

fn any_has(peers: &HashMap<Arc<str>, Peer>, user: UserId) -> bool {
    peers.values().any(|p| p.users.contains(&user))
}

fn peer_entry<'a>(peers: &'a mut HashMap<Arc<str>, Peer>, node: &Arc<str>) -> &'a mut Peer {
    let peer = peers.entry(Arc::clone(node)).or_insert_with(|| Peer {
        heard: Instant::now(),
        users: HashSet::new(),
    });
    peer.heard = Instant::now();
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    #[test]
    fn a_user_flips_only_on_the_first_and_last_peer_that_has_them() {
        let table = PeerTable::default();
        let (a, b, ann) = (node("a"), node("b"), UserId(1));
        assert_eq!(table.heard(&a, Heard::Alive), (vec![], true));
        assert_eq!(
            table.heard(&a, Heard::Presence(ann, true)),
            (vec![(ann, true)], false)
        );
        assert_eq!(table.heard(&b, Heard::Presence(ann, true)), (vec![], true));
        assert!(table.online_elsewhere(ann));
        assert_eq!(table.heard(&a, Heard::Presence(ann, false)).0, vec![]);
        assert_eq!(
            table.heard(&b, Heard::Presence(ann, false)).0,
            vec![(ann, false)]
        );
        assert!(!table.online_elsewhere(ann));
    }

    #[test]
    fn a_snapshot_replaces_what_a_peer_had_and_flips_the_difference() {
        let table = PeerTable::default();
        let a = node("a");
        let (ann, bob, cy) = (UserId(1), UserId(2), UserId(3));
        let (mut flips, new) = table.heard(&a, Heard::Snapshot(&[ann, bob]));
        flips.sort_by_key(|f| f.0);
        assert_eq!((flips, new), (vec![(ann, true), (bob, true)], true));
        let (mut flips, new) = table.heard(&a, Heard::Snapshot(&[bob, cy]));
        flips.sort_by_key(|f| f.0);
        assert_eq!((flips, new), (vec![(ann, false), (cy, true)], false));
    }

    #[test]
    fn a_silent_peer_expires_with_the_users_no_other_peer_has() {
        let table = PeerTable::default();
        let (a, b) = (node("a"), node("b"));
        let (ann, bob) = (UserId(1), UserId(2));
        table.heard(&a, Heard::Snapshot(&[ann, bob]));
        table.heard(&b, Heard::Presence(bob, true));
        assert_eq!(table.expire(Duration::from_secs(60)), vec![]);
        // `a` falls silent for a second; `b` speaks just before the sweep, which takes half a
        // second of silence as death: wide enough that a busy machine stalling this thread
        // between the two lines does not expire `b` too.
        std::thread::sleep(Duration::from_millis(1000));
        table.heard(&b, Heard::Alive);
        assert_eq!(table.expire(Duration::from_millis(500)), vec![(ann, false)]);
        assert!(table.online_elsewhere(bob) && !table.online_elsewhere(ann));
    }
}
