//! "Last used" of access tokens, kept to the minute and written in batches by both backends: a
//! durable write per connection would make every connect wait for a commit, one after another.
//! Uses are recorded in memory and a task per store (started by `Store::start_upkeep`) writes
//! them every [`FLUSH_EVERY`], and once more when shutdown begins; the backend says only how
//! (its SQL, in `tokens.rs`). Without that task (admin commands, some tests) uses stay in memory.
//!
//! Depends on `rows` and `users` only.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex, MutexGuard, Weak},
    time::Duration,
};

use super::TokenRecord;
use crate::{
    auth::TokenInfo,
    server::{
        shutdown::Shutdown,
        store::{rows::Columns, users::user_from},
    },
};

/// How often recorded token uses are written.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// How stale a token's `last_used_at` may get before a use rewrites it.
const GRANULARITY_SECS: i64 = 60;

/// Token uses not yet written: token row id → when (Unix seconds). Clones share the map.
#[derive(Clone, Debug, Default)]
pub(in crate::server::store) struct TokenUses(Arc<Mutex<HashMap<i64, i64>>>);

impl TokenUses {
    /// The map, also after a panic elsewhere poisoned it (a plain map stays consistent).
    fn lock(&self) -> MutexGuard<'_, HashMap<i64, i64>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts, through `shutdown`'s tracker, the task that hands the recorded uses to `write`
    /// (with `db`) every [`FLUSH_EVERY`], until shutdown begins (it writes what is left then) or
    /// every clone of this is dropped (the store is).
    pub(in crate::server::store) fn start_flush<D, W, F>(
        &self,
        db: D,
        write: W,
        shutdown: &Shutdown,
    ) where
        D: Clone + Send + 'static,
        W: Fn(D, HashMap<i64, i64>) -> F + Send + 'static,
        F: Future<Output = Result<(), sqlx::Error>> + Send + 'static,
    {
        shutdown.spawn(flush(Arc::downgrade(&self.0), db, write, shutdown.clone()));
    }

    /// The token of a `use_token` row (columns `id`, `revoked`, `last_used_at`, `expires_at` and
    /// its user's), recording this use when the stored one is over a minute old.
    pub(super) fn note_use<R: Columns>(
        &self,
        row: &R,
        now: i64,
    ) -> Result<TokenRecord, sqlx::Error> {
        let record = TokenRecord {
            id: row.int("id")?,
            user: user_from(row)?,
            revoked: row.flag("revoked")?,
            expires_at: row.opt_int("expires_at")?,
        };
        let last_used = row.opt_int("last_used_at")?;
        if !record.revoked && last_used.is_none_or(|at| now - at >= GRANULARITY_SECS) {
            self.lock().insert(record.id, now);
        }
        Ok(record)
    }

    /// Token rows (columns `id`, `name`, `created_at`, `last_used_at`, `expires_at`) as listed to their owner,
    /// with the uses not yet written merged in.
    pub(super) fn merge<R: Columns>(&self, rows: &[R]) -> Result<Vec<TokenInfo>, sqlx::Error> {
        let pending = self.lock();
        rows.iter()
            .map(|row| {
                let id = row.int("id")?;
                let stored = row.opt_int("last_used_at")?;
                Ok(TokenInfo {
                    id,
                    name: row.text("name")?,
                    created_at: row.int("created_at")?,
                    last_used_at: stored.max(pending.get(&id).copied()),
                    expires_at: row.opt_int("expires_at")?,
                })
            })
            .collect()
    }
}

/// Hands the recorded uses to `write` every [`FLUSH_EVERY`], and a last time when shutdown
/// begins, until then or until the map is dropped; a failed write is logged, and its uses are
/// dropped.
async fn flush<D, W, F>(uses: Weak<Mutex<HashMap<i64, i64>>>, db: D, write: W, shutdown: Shutdown)
where
    D: Clone,
    W: Fn(D, HashMap<i64, i64>) -> F,
    F: Future<Output = Result<(), sqlx::Error>>,
{
    loop {
        let last = tokio::select! {
            () = tokio::time::sleep(FLUSH_EVERY) => false,
            () = shutdown.triggered() => true,
        };
        let Some(uses) = uses.upgrade() else { return };
        let batch = std::mem::take(&mut *uses.lock().unwrap_or_else(|e| e.into_inner()));
        drop(uses);
        if !batch.is_empty() {
            let tokens = batch.len();
            if let Err(err) = write(db.clone(), batch).await {
                tracing::warn!(%err, tokens, "could not record token use");
            }
        }
        if last {
            return;
        }
    }
}
