//! Backups and restores of the SQLite file, and `admin new-epoch` on it; each takes the
//! database's lock (`store/sqlite/lock.rs`), so none runs under a database in use.
//!
//! A restore is atomic: the backup is copied beside the database, checked and given a new
//! epoch there, and then renamed over the database in one step. Until that rename the database
//! is as it was; a failure before it only leaves the partial copy, which the next restore
//! replaces. The replaced file is kept as `<database.path>.before-restore-<unix ms>`.

//!
//! Depends on the SQLite connection's checks and lock, and on the epoch.

use std::{
    fs::File,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use super::Restored;
use crate::{
    protocol::Epoch,
    server::store::{
        StoreError, epoch,
        sqlite::{
            Sqlite,
            lock::{beside, lock_exclusive},
            refuse_foreign,
        },
    },
};

/// Opens one connection to the file at `path` with the given journal mode, nothing created.
async fn connect(
    path: &Path,
    journal: SqliteJournalMode,
) -> Result<sqlx::SqliteConnection, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .journal_mode(journal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5));
    Ok(sqlx::ConnectOptions::connect(&options).await?)
}

/// Writes a consistent copy of the database at `path` to `to` (which must not exist), while
/// other processes keep using it: `VACUUM INTO` reads one snapshot. Opens the source read-only
/// and runs no migrations. The copy is marked so that whichever server opens it first starts a
/// new epoch.
pub(super) async fn backup(path: &Path, to: &Path) -> Result<u64, StoreError> {
    if to.exists() {
        return Err(StoreError::Refused(format!(
            "{} exists; a backup never overwrites a file",
            to.display()
        )));
    }
    if !path.exists() {
        return Err(StoreError::Refused(format!(
            "{} does not exist",
            path.display()
        )));
    }
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(5));
    let mut conn = sqlx::ConnectOptions::connect(&options).await?;
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::Refused("the backup path is not valid UTF-8".into()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut conn)
        .await?;
    sqlx::Connection::close(conn).await?;
    // A source older than the epoch has no table to mark; its copy gets a fresh epoch from the
    // migration that creates it.
    let mut copy = connect(to, SqliteJournalMode::Delete).await?;
    if has_table(&mut copy, "store_epoch").await? {
        epoch::mark_for_renewal_sqlite(&mut copy).await?;
    }
    sqlx::Connection::close(copy).await?;
    Ok(std::fs::metadata(to).map(|m| m.len()).unwrap_or(0))
}

/// Whether the database on `conn` has a table named `name`.
async fn has_table(conn: &mut sqlx::SqliteConnection, name: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
    )
    .bind(name)
    .fetch_one(conn)
    .await?
        > 0)
}

/// Replaces the database at `path` with the backup `from`, atomically, and gives it a new
/// epoch. Refused, with the database untouched, while any process uses it, and when `from` is
/// not SQLite, damaged, not a switchboard database or from a newer release.
pub(super) async fn restore(path: &Path, from: &Path) -> Result<Restored, StoreError> {
    let migrator = &Sqlite::migrator();
    let _lock = lock_exclusive(path)?;
    let staging = beside(path, ".restoring");
    let refused = |why: String| super::refused(from, &path.display(), &why);
    std::fs::copy(from, &staging).map_err(|err| refused(format!("cannot copy it: {err}")))?;
    let staged = stage(&staging, migrator).await;
    let epoch = match staged {
        Ok(epoch) => epoch,
        Err(err) => {
            let _ = std::fs::remove_file(&staging);
            return Err(refused(err.to_string()));
        }
    };
    let kept = match keep_old(path).await {
        Ok(kept) => kept,
        Err(err) => {
            let _ = std::fs::remove_file(&staging);
            return Err(StoreError::Refused(format!(
                "{err}; {} was not changed",
                path.display()
            )));
        }
    };
    std::fs::rename(&staging, path).map_err(|err| {
        StoreError::Refused(format!(
            "cannot move the restored copy into place: {err}; {} was not changed",
            path.display()
        ))
    })?;
    // The old database's log was folded into it before the rename and holds nothing now.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(beside(path, suffix));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|err| {
            StoreError::Refused(format!(
                "restored, but cannot sync {}: {err}",
                dir.display()
            ))
        })?;
    }
    Ok(Restored { kept, epoch })
}

/// Checks the copy at `staging` (readable SQLite, intact, a switchboard schema this build
/// knows) and gives it a new epoch; flushed to disk before it returns.
async fn stage(
    staging: &Path,
    migrator: &sqlx::migrate::Migrator,
) -> Result<Option<Epoch>, StoreError> {
    let mut conn = connect(staging, SqliteJournalMode::Delete)
        .await
        .map_err(|err| StoreError::Refused(format!("cannot read it as SQLite: {err}")))?;
    let verdict: Result<Option<Epoch>, StoreError> = async {
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|err| StoreError::Refused(format!("cannot read it as SQLite: {err}")))?;
        if check != "ok" {
            return Err(StoreError::Refused(format!("it is damaged ({check})")));
        }
        if !has_table(&mut conn, "_sqlx_migrations").await? {
            return Err(StoreError::Refused(
                "it is not a switchboard database (no schema history)".into(),
            ));
        }
        refuse_foreign(&mut conn, migrator).await?;
        // A backup from before the epoch existed gets one when the server migrates it.
        if has_table(&mut conn, "store_epoch").await? {
            epoch::renew_sqlite(&mut conn).await.map(Some)
        } else {
            Ok(None)
        }
    }
    .await;
    let closed = sqlx::Connection::close(conn).await;
    let epoch = verdict?;
    closed?;
    File::open(staging)
        .and_then(|f| f.sync_all())
        .map_err(|err| StoreError::Refused(format!("cannot sync the copy: {err}")))?;
    Ok(epoch)
}

/// Folds the write-ahead log of the database at `path` into its file and keeps the file under
/// a second name (a hard link: the same bytes, no copy). `None` when there is no database.
async fn keep_old(path: &Path) -> Result<Option<PathBuf>, StoreError> {
    if !path.exists() {
        return Ok(None);
    }
    let wal = beside(path, "-wal");
    if wal.metadata().is_ok_and(|m| m.len() > 0) {
        let folded: Result<(), StoreError> = async {
            let mut conn = connect(path, SqliteJournalMode::Wal).await?;
            let busy: i64 = sqlx::query_scalar("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&mut conn)
                .await?;
            sqlx::Connection::close(conn).await?;
            if busy != 0 {
                return Err(StoreError::Refused("the log is busy".into()));
            }
            Ok(())
        }
        .await;
        folded.map_err(|err| {
            StoreError::Refused(format!(
                "cannot fold {} into the database before replacing it ({err}); move the \
                 database and its -wal file aside by hand",
                wal.display()
            ))
        })?;
    }
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let kept = beside(path, &format!(".before-restore-{millis}"));
    std::fs::hard_link(path, &kept).map_err(|err| {
        StoreError::Refused(format!(
            "cannot keep the current database as {}: {err}",
            kept.display()
        ))
    })?;
    Ok(Some(kept))
}

/// `admin new-epoch` on SQLite: a new random epoch for the database at `path`, refused while
/// any process uses it.
pub(super) async fn new_epoch(path: &Path) -> Result<Epoch, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Refused(format!(
            "{} does not exist",
            path.display()
        )));
    }
    let _lock = lock_exclusive(path)?;
    let mut conn = connect(path, SqliteJournalMode::Wal).await?;
    let renewed = if has_table(&mut conn, "store_epoch").await? {
        epoch::renew_sqlite(&mut conn).await
    } else {
        Err(StoreError::Refused(format!(
            "{} has no epoch yet; the next server start gives it one",
            path.display()
        )))
    };
    sqlx::Connection::close(conn).await?;
    renewed
}
