//! What `/readyz` answers from: the result of a background SQLite write check, so that no
//! probe, however frequent, takes the database's write lock itself.
//!
//! Owned by the composition root (built with the store); read by the admin endpoints. Depends
//! on the store and the shutdown signal only.

use std::{
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use crate::server::{shutdown::Shutdown, store::Store};

/// How often the SQLite write check runs in the background.
pub const SQLITE_PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// What the background check last found, read by every `/readyz` without touching the database.
#[derive(Debug)]
pub struct Readiness {
    /// Whether the last SQLite write check succeeded (true for Postgres, which is asked directly).
    writable: AtomicBool,
}

impl Readiness {
    /// Starts the background check for `store` (only SQLite needs one) as a task of
    /// `shutdown`. The store was just opened and migrated, a write, so it starts out writable.
    /// The check stops at shutdown, or once the last holder of the returned handle is gone.
    pub fn start(store: &Store, shutdown: &Shutdown) -> Arc<Self> {
        let readiness = Arc::new(Self {
            writable: AtomicBool::new(true),
        });
        if store.ping_takes_write_lock() {
            let probe = probe_sqlite(store.clone(), Arc::downgrade(&readiness));
            let stop = shutdown.clone();
            shutdown.spawn(async move {
                tokio::select! {
                    () = stop.triggered() => {}
                    () = probe => {}
                }
            });
        }
        readiness
    }

    /// Whether the database took the last write check.
    pub fn writable(&self) -> bool {
        self.writable.load(Ordering::Relaxed)
    }
}

/// The background SQLite check: `BEGIN IMMEDIATE; ROLLBACK` once an interval.
async fn probe_sqlite(store: Store, readiness: Weak<Readiness>) {
    loop {
        tokio::time::sleep(SQLITE_PROBE_INTERVAL).await;
        let result = store.ping().await;
        let Some(readiness) = readiness.upgrade() else {
            return;
        };
        if let Err(err) = &result {
            tracing::warn!(%err, "readiness: database not writable");
        }
        readiness.writable.store(result.is_ok(), Ordering::Relaxed);
    }
}
