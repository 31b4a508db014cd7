//! Which open sockets belong to which credential, so that revoking a session or token closes
//! its sockets at once (log out, password change, token revoked), and how many each user holds,
//! so that one user cannot open more than `limits.sockets_per_user` (on this node).
//!
//! Locking: one std `Mutex` around two small maps; it is held only to insert, remove, count or
//! cancel, and never across an `.await`.
//!
//! In cluster mode a revocation must close the credential's sockets on every node: what this
//! needs from the other nodes is the one-method trait [`PeerRevocations`], which the cluster
//! module implements. This module must not depend on the cluster; it uses routing's [`Origin`]
//! only.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio_util::sync::CancellationToken;

use super::routing::Origin;
use crate::protocol::UserId;

/// What proved a connection's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Credential {
    /// A browser session (row id).
    Session(i64),
    /// A personal access token (row id).
    Token(i64),
}

/// The table of open sockets by credential.
#[derive(Debug, Default)]
pub struct Live {
    /// The sockets, by credential and by user.
    table: Mutex<Table>,
    /// Source of connection numbers.
    next: AtomicU64,
    /// Cluster mode: the other nodes, told of every revocation made here.
    peers: OnceLock<Arc<dyn PeerRevocations>>,
}

/// What revocation needs from the other nodes: to hear of a revocation made here (and close
/// the credential's sockets there). Must not wait.
pub trait PeerRevocations: Send + Sync + 'static {
    /// `credential` was revoked on this node.
    fn revoked(&self, credential: Credential);
}

impl std::fmt::Debug for dyn PeerRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerRevocations")
    }
}

/// What [`Live`]'s lock guards.
#[derive(Debug, Default)]
struct Table {
    /// Each credential's open sockets: connection number and the token that ends it.
    sockets: HashMap<Credential, Vec<(u64, CancellationToken)>>,
    /// Each user's open sockets, all credentials together; users at zero are removed.
    per_user: HashMap<UserId, usize>,
}

/// A socket's place in the table; dropping it removes the entry.
#[derive(Debug)]
pub struct Registration {
    /// The table it is in.
    live: Arc<Live>,
    /// Its user.
    user: UserId,
    /// Its credential.
    credential: Credential,
    /// Its number.
    id: u64,
    /// Cancelled when its credential is revoked.
    pub ended: CancellationToken,
}

impl Live {
    /// Records a new socket of `user` opened with `credential`, unless the user holds
    /// `max_per_user` already (`None`).
    pub fn register(
        self: &Arc<Self>,
        user: UserId,
        credential: Credential,
        max_per_user: usize,
    ) -> Option<Registration> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let ended = CancellationToken::new();
        let mut table = self.lock();
        let held = table.per_user.entry(user).or_insert(0);
        if *held >= max_per_user {
            if *held == 0 {
                table.per_user.remove(&user);
            }
            return None;
        }
        *held += 1;
        table
            .sockets
            .entry(credential)
            .or_default()
            .push((id, ended.clone()));
        drop(table);
        Some(Registration {
            live: Arc::clone(self),
            user,
            credential,
            id,
            ended,
        })
    }

    /// Tells `peers` of every revocation made here from now on (cluster mode).
    pub fn tell_peers(&self, peers: Arc<dyn PeerRevocations>) {
        let _ = self.peers.set(peers);
    }

    /// Ends every socket opened with `credential`: here and, for a revocation made here
    /// ([`Origin::Local`]), on every other node.
    pub fn revoke(&self, credential: Credential, origin: Origin) {
        if origin == Origin::Local
            && let Some(peers) = self.peers.get()
        {
            peers.revoked(credential);
        }
        let sockets = self.lock().sockets.remove(&credential);
        if let Some(sockets) = sockets {
            for (_, ended) in sockets {
                ended.cancel();
            }
        }
    }

    /// How many sockets are open.
    pub fn open(&self) -> usize {
        self.lock().per_user.values().sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding this lock cannot leave the maps inconsistent (every operation is
        // a single insert/remove), so a poisoned lock is still safe to use.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut table = self.live.lock();
        if let Some(sockets) = table.sockets.get_mut(&self.credential) {
            sockets.retain(|(id, _)| *id != self.id);
            if sockets.is_empty() {
                table.sockets.remove(&self.credential);
            }
        }
        if let Some(held) = table.per_user.get_mut(&self.user) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                table.per_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoking_a_credential_ends_only_its_sockets() {
        let live = Arc::new(Live::default());
        let user = UserId(1);
        let a1 = live.register(user, Credential::Session(1), 10).unwrap();
        let a2 = live.register(user, Credential::Session(1), 10).unwrap();
        let b = live.register(user, Credential::Token(1), 10).unwrap();
        assert_eq!(live.open(), 3);
        live.revoke(Credential::Session(1), Origin::Local);
        assert!(a1.ended.is_cancelled() && a2.ended.is_cancelled());
        assert!(!b.ended.is_cancelled());
        drop(b);
        assert_eq!(live.open(), 2);
        drop((a1, a2));
        assert_eq!(live.open(), 0);
    }

    #[test]
    fn a_user_holds_at_most_the_cap_across_credentials() {
        let live = Arc::new(Live::default());
        let (alice, bob) = (UserId(1), UserId(2));
        let first = live.register(alice, Credential::Session(1), 2).unwrap();
        let _second = live.register(alice, Credential::Token(7), 2).unwrap();
        assert!(live.register(alice, Credential::Session(2), 2).is_none());
        assert!(live.register(bob, Credential::Session(3), 2).is_some());
        drop(first);
        assert!(live.register(alice, Credential::Session(2), 2).is_some());
    }
}
