//! Which open sockets belong to which credential, so that revoking a session or token closes
//! its sockets at once (log out, password change, token revoked).
//!
//! Locking: one std `Mutex` around a small map; it is held only to insert, remove or cancel, and
//! never across an `.await`.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio_util::sync::CancellationToken;

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
    /// Each credential's open sockets: connection number and the token that ends it.
    sockets: Mutex<HashMap<Credential, Vec<(u64, CancellationToken)>>>,
    /// Source of connection numbers.
    next: AtomicU64,
    /// Cluster mode: revocations reach the sockets on every node.
    bus: std::sync::OnceLock<super::bus::Bus>,
}

/// A socket's place in the table; dropping it removes the entry.
#[derive(Debug)]
pub struct Registration {
    /// The table it is in.
    live: Arc<Live>,
    /// Its credential.
    credential: Credential,
    /// Its number.
    id: u64,
    /// Cancelled when its credential is revoked.
    pub ended: CancellationToken,
}

impl Live {
    /// Records a new socket for `credential`.
    pub fn register(self: &Arc<Self>, credential: Credential) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let ended = CancellationToken::new();
        self.lock()
            .entry(credential)
            .or_default()
            .push((id, ended.clone()));
        Registration {
            live: Arc::clone(self),
            credential,
            id,
            ended,
        }
    }

    /// Sends revocations to the other nodes too (cluster mode).
    pub fn use_bus(&self, bus: super::bus::Bus) {
        let _ = self.bus.set(bus);
    }

    /// Ends every socket opened with `credential`, on every node.
    pub fn revoke(&self, credential: Credential) {
        if let Some(bus) = self.bus.get() {
            bus.publish(super::bus::Body::Revoke { credential });
        }
        self.revoke_here(credential);
    }

    /// Ends every socket opened with `credential` on this node.
    pub fn revoke_here(&self, credential: Credential) {
        if let Some(sockets) = self.lock().remove(&credential) {
            for (_, ended) in sockets {
                ended.cancel();
            }
        }
    }

    /// How many sockets are open.
    pub fn open(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Credential, Vec<(u64, CancellationToken)>>> {
        // A panic while holding this lock cannot leave the map inconsistent (every operation is
        // a single insert/remove), so a poisoned lock is still safe to use.
        self.sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut table = self.live.lock();
        if let Some(sockets) = table.get_mut(&self.credential) {
            sockets.retain(|(id, _)| *id != self.id);
            if sockets.is_empty() {
                table.remove(&self.credential);
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
        let a1 = live.register(Credential::Session(1));
        let a2 = live.register(Credential::Session(1));
        let b = live.register(Credential::Token(1));
        assert_eq!(live.open(), 3);
        live.revoke(Credential::Session(1));
        assert!(a1.ended.is_cancelled() && a2.ended.is_cancelled());
        assert!(!b.ended.is_cancelled());
        drop(b);
        assert_eq!(live.open(), 0);
    }
}
