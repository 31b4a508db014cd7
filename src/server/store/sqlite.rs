//! The SQLite connection: one file, WAL mode, migrations from `migrations/sqlite` applied at
//! open. What the store runs on it is in the feature modules; this is how it is opened, checked
//! and kept (the WAL checkpoint task, started by `Store::start_upkeep`, which truncates the WAL
//! after a deletion), and how a writing transaction starts.
//!
//! `synchronous = FULL`: a write is on disk when its transaction commits, so what the server has
//! confirmed survives a process crash and a power loss alike. Write transactions start with
//! `BEGIN IMMEDIATE` ([`Sqlite::begin_write`]): they take the write lock up front and wait for it
//! (busy timeout), instead of reading first and failing with SQLITE_BUSY when another writer got
//! in between.
//!
//! Depends on the store's error type, its token-use batcher and the lock; not on any feature.

pub(super) mod lock;

use std::{
    path::Path,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sqlx::{
    Transaction,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

use super::{StoreError, tokens::TokenUses};
use crate::server::shutdown::Shutdown;

/// A pool of connections to one SQLite file.
#[derive(Clone, Debug)]
pub(super) struct Sqlite {
    /// Readers run concurrently; SQLite serialises writers itself (WAL, busy timeout).
    pub(super) pool: SqlitePool,
    /// Token uses not yet written, flushed in one transaction every few seconds (see
    /// `tokens.rs`), so a connect never waits for a disk flush to record "last used".
    pub(super) token_uses: TokenUses,
    /// Set when a deletion committed: the next checkpoint truncates the WAL, whose older
    /// frames still hold the deleted text.
    scrub: Arc<AtomicBool>,
}

/// Refuses, before anything is written, a database that switchboard did not create (tables but
/// no migration history) or that a newer switchboard has migrated past what this one knows.
pub(super) async fn refuse_foreign(
    conn: &mut sqlx::SqliteConnection,
    migrator: &sqlx::migrate::Migrator,
) -> Result<(), StoreError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|err| StoreError::Refused(format!("cannot read it as SQLite: {err}")))?;
    if tables.is_empty() {
        return Ok(());
    }
    if !tables.iter().any(|t| t == "_sqlx_migrations") {
        return Err(StoreError::Refused(format!(
            "the file holds tables ({}) but no switchboard schema history: it is not a \
             switchboard database; refusing to touch it",
            tables.join(", ")
        )));
    }
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?;
    match super::unknown_schema(newest, migrator) {
        Some((newest, known)) => Err(StoreError::Refused(format!(
            "its schema is version {newest}, newer than this switchboard knows ({known}); \
             run the newer release, or restore a backup taken with this one"
        ))),
        None => Ok(()),
    }
}

/// How often the write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How long every connection waits for a lock before giving up (the pool's `busy_timeout`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a truncating checkpoint waits for writers and readers before it gives up until the
/// next tick: while it waits, new writers wait behind it, so this bounds the stall a deletion
/// can put on everyone's messages.
const TRUNCATE_PATIENCE: Duration = Duration::from_millis(50);

/// Copies the write-ahead log into the database file, without blocking writers (`PASSIVE`),
/// until shutdown begins or the pool closes. After a deletion (`scrub`) it copies all of it and
/// truncates the file to nothing (`TRUNCATE`): until then the log's older frames hold the
/// deleted text. A truncation waits at most [`TRUNCATE_PATIENCE`] for writers and readers to
/// finish; one kept from finishing is tried again at the next tick, so any number of deletions
/// costs at most one short wait per tick.
async fn checkpoint(pool: SqlitePool, scrub: Arc<AtomicBool>, shutdown: Shutdown) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
            () = shutdown.triggered() => return,
        }
        if pool.is_closed() {
            return;
        }
        let truncate = scrub.swap(false, Ordering::AcqRel);
        let done = if truncate {
            truncate_wal(&pool).await
        } else {
            sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await
                .map(|_| true)
        };
        match done {
            Ok(true) => {}
            Ok(false) => scrub.store(true, Ordering::Release),
            Err(err) => {
                if truncate {
                    scrub.store(true, Ordering::Release);
                }
                tracing::warn!(%err, "WAL checkpoint failed");
            }
        }
    }
}

/// One truncating checkpoint on a connection whose busy timeout is lowered to
/// [`TRUNCATE_PATIENCE`] for it: whether it finished. A connection whose timeout cannot be put
/// back is closed rather than returned to the pool.
async fn truncate_wal(pool: &SqlitePool) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let set = |timeout: Duration| format!("PRAGMA busy_timeout = {}", timeout.as_millis());
    sqlx::query(&set(TRUNCATE_PATIENCE))
        .execute(&mut *conn)
        .await?;
    let outcome = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut *conn)
        .await;
    if sqlx::query(&set(BUSY_TIMEOUT))
        .execute(&mut *conn)
        .await
        .is_err()
    {
        conn.close_on_drop();
    }
    match outcome {
        Ok((busy, _, _)) => Ok(busy == 0),
        Err(sqlx::Error::Database(err)) if err.message().contains("locked") => Ok(false),
        Err(err) => Err(err),
    }
}

impl Sqlite {
    /// Opens the file at `path`, with the shared lock on `<path>-lock` that keeps `admin
    /// restore` from replacing it while the returned lock file is kept open.
    pub(super) async fn open(path: &Path) -> Result<(Self, std::fs::File), StoreError> {
        let migrator = Self::migrator();
        let lock = lock::lock_shared(path)?;
        // Checked read-only, before the pool's settings (WAL mode) touch the file.
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            let options = SqliteConnectOptions::from_str("sqlite://")?
                .filename(path)
                .read_only(true);
            let mut conn = sqlx::ConnectOptions::connect(&options)
                .await
                .map_err(|err| StoreError::Refused(format!("cannot read it as SQLite: {err}")))?;
            let verdict = refuse_foreign(&mut conn, &migrator).await;
            let _ = sqlx::Connection::close(conn).await;
            verdict?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Checkpoints run on their own task (`start_upkeep`), not inside whichever commit happens to
            // cross the threshold: a checkpoint flushes the database file, and doing that in the
            // group commit stalled every message behind it (the p99 tail in BENCHMARKS.md).
            .pragma("wal_autocheckpoint", "0")
            // Deleted rows' bytes are overwritten with zeros, not left in free space: a deleted
            // message's text must leave the file (see `store/actions.rs`).
            .pragma("secure_delete", "on");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        migrator.run(&pool).await?;
        let token_uses = TokenUses::default();
        let scrub = Arc::default();
        Ok((
            Self {
                pool,
                token_uses,
                scrub,
            },
            lock,
        ))
    }

    /// Starts the WAL checkpoint and the token-use flush through `shutdown`'s tracker.
    pub(super) fn start_upkeep(&self, shutdown: &Shutdown) {
        shutdown.spawn(checkpoint(
            self.pool.clone(),
            Arc::clone(&self.scrub),
            shutdown.clone(),
        ));
        self.token_uses.start_flush(
            self.pool.clone(),
            super::tokens::write_uses_sqlite,
            shutdown,
        );
    }

    /// The migrations this build knows, for checking a backup before restoring it.
    pub(super) fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/sqlite")
    }

    /// A transaction that will write: it holds the write lock from its first statement.
    pub(super) async fn begin_write(
        &self,
    ) -> Result<Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// A deletion committed: the next checkpoint truncates the WAL.
    pub(super) fn scrubbed(&self) {
        self.scrub.store(true, Ordering::Release);
    }

    /// Of something written twice, once per dialect (a statement's text, mostly), the SQLite
    /// one.
    pub(super) fn pick<T>(&self, sqlite: T, _postgres: T) -> T {
        sqlite
    }

    /// Proves the file is writable, writing nothing: BEGIN IMMEDIATE takes the write lock.
    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
        Ok(())
    }
}
