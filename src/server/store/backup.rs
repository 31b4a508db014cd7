//! Backups, restores and a new store epoch, for both databases, behind the facade: `admin
//! backup`, `admin restore` and `admin new-epoch` call these with the configured
//! [`Location`] and never learn which database it is.
//!
//! - SQLite (`backup/sqlite.rs`): a consistent copy of the file (`VACUUM INTO`), restored by an
//!   atomic rename, every step under the database's lock.
//! - Postgres (`backup/postgres.rs`): a logical export, every table's rows in dependency order
//!   as JSON lines, read back inside one transaction.
//!
//! A restore always starts a new store epoch (see `epoch.rs`): it rewinds seqs.
//!
//! Depends on the two connections and the epoch.

mod postgres;
mod sqlite;

use std::path::{Path, PathBuf};

use super::{Location, Store, StoreError, epoch};
use crate::protocol::Epoch;

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// Where the replaced database was kept (`None` when there was none, or on Postgres, where
    /// the replaced rows are gone: take a backup first).
    pub kept: Option<PathBuf>,
    /// The epoch the restored database starts with (`None`: the backup predates epochs, and
    /// the first start gives it one).
    pub epoch: Option<Epoch>,
}

/// Why the restore of `from` was refused, and that `target` was not changed.
fn refused(from: &Path, target: &dyn std::fmt::Display, why: &dyn std::fmt::Display) -> StoreError {
    StoreError::Refused(format!(
        "cannot restore {}: {why}; {target} was not changed",
        from.display()
    ))
}

impl Store {
    /// Writes a consistent copy of the database at `location` to the file `to` while servers
    /// keep using it; returns the copy's size in bytes. Never overwrites `to`.
    pub async fn backup(location: Location<'_>, to: &Path) -> Result<u64, StoreError> {
        match location {
            Location::File(path) => sqlite::backup(path, to).await,
            Location::Url(url) => postgres::backup(url, to).await,
        }
    }

    /// Replaces the database at `location` with the backup `from`, atomically, with a new
    /// epoch; refused (nothing changed) while a server uses it, or when `from` is not a sound
    /// switchboard backup of that database that this build can read.
    pub async fn restore(location: Location<'_>, from: &Path) -> Result<Restored, StoreError> {
        if !from.is_file() {
            return Err(StoreError::Refused(format!(
                "the backup {} does not exist or is not a file; nothing was changed",
                from.display()
            )));
        }
        match location {
            Location::File(path) => sqlite::restore(path, from).await,
            Location::Url(url) => postgres::restore(url, from).await,
        }
    }

    /// Gives the database at `location` a new random epoch, returned. SQLite: refused while any
    /// process uses it. Postgres: nodes already running keep announcing the one they read at
    /// start, so stop them all first.
    pub async fn new_epoch(location: Location<'_>) -> Result<Epoch, StoreError> {
        match location {
            Location::File(path) => sqlite::new_epoch(path).await,
            Location::Url(url) => {
                let db = super::postgres::Postgres::open(url, super::postgres::SERVER).await?;
                epoch::renew_postgres(&db.pool).await
            }
        }
    }
}
