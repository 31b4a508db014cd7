//! The Postgres connection: one database shared by every node of a cluster, migrations from
//! `migrations/postgres` applied at open (under sqlx's advisory lock, so nodes starting together
//! migrate once). What the store runs on it is in the feature modules; this is how it is opened
//! and checked, and what a transaction that lost a race does.
//!
//! What differs from SQLite is concurrency: SQLite has one writer at a time, Postgres has many,
//! from many processes. Every transaction that writes a conversation's events takes that
//! conversation's row lock first (the `UPDATE … SET last_seq` that allocates seqs, or `SELECT …
//! FOR UPDATE` in ascending id order for a batch) and holds it to commit; see `messages` and
//! `rooms`.
//!
//! Connections are acquired within [`ACQUIRE_TIMEOUT`]: with Postgres down, a call fails quickly
//! with [`StoreError::Database`] instead of hanging. Each connection names its program
//! (`application_name`), so that `admin restore` can see whether servers are connected.
//!
//! Depends on the store's error type and its token-use batcher; not on any feature.

use std::time::Duration;

use sqlx::{
    Transaction,
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
};

use super::{StoreError, tokens::TokenUses};
use crate::server::shutdown::Shutdown;

/// A pool of connections to one Postgres database.
#[derive(Clone, Debug)]
pub(super) struct Postgres {
    /// Shared by every request of this node; other nodes have their own.
    pub(super) pool: PgPool,
    /// Token uses not yet written, flushed in one statement every few seconds (see
    /// `tokens.rs`), so a connect never waits for a commit to record "last used".
    pub(super) token_uses: TokenUses,
}

/// The `application_name` of a server's (or store-opening admin command's) connections.
pub(super) const SERVER: &str = "switchboard";

/// The `application_name` of `admin restore`'s connections, which do not count as a server.
pub(super) const RESTORE: &str = "switchboard-restore";

/// Connections per node.
const MAX_CONNECTIONS: u32 = 16;

/// How long a call waits for a connection (including connecting) before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How many times a transaction that lost a race to another node is run in all.
pub(super) const ATTEMPTS: u32 = 3;

/// Whether `err` means "another transaction got in the way; running again will see its result":
/// a unique violation (another node stored the same retry first), a deadlock, or a
/// serialization failure.
pub(super) fn is_retryable(err: &StoreError) -> bool {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("23505" | "40P01" | "40001"))
        }
        _ => false,
    }
}

/// Why a Postgres schema at migration `newest` is refused by a build that knows up to `known`.
pub(super) fn newer_schema(newest: i64, known: i64) -> String {
    format!(
        "the Postgres schema is version {newest}, newer than this switchboard knows ({known}); \
         run the newer release"
    )
}

/// Refuses, before anything is written, a schema that a newer switchboard has migrated past what
/// this one knows.
async fn refuse_newer(
    conn: &mut sqlx::PgConnection,
    migrator: &sqlx::migrate::Migrator,
) -> Result<(), StoreError> {
    let has_history: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    if !has_history {
        return Ok(());
    }
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?;
    match super::unknown_schema(newest, migrator) {
        Some((newest, known)) => Err(StoreError::Refused(newer_schema(newest, known))),
        None => Ok(()),
    }
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`) as
    /// `program` (its `application_name`), refuses a schema newer than this build knows, and
    /// applies pending migrations.
    pub(super) async fn open(url: &str, program: &str) -> Result<Self, StoreError> {
        let migrator = Self::migrator();
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.application_name(program))
            .await?;
        {
            let mut conn = pool.acquire().await?;
            refuse_newer(&mut conn, &migrator).await?;
        }
        migrator.run(&pool).await?;
        let token_uses = TokenUses::default();
        Ok(Self { pool, token_uses })
    }

    /// Starts the token-use flush through `shutdown`'s tracker.
    pub(super) fn start_upkeep(&self, shutdown: &Shutdown) {
        self.token_uses.start_flush(
            self.pool.clone(),
            super::tokens::write_uses_postgres,
            shutdown,
        );
    }

    /// The migrations this build knows.
    pub(super) fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/postgres")
    }

    /// A transaction that will write (row locks are taken by its statements).
    pub(super) async fn begin_write(
        &self,
    ) -> Result<Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// A deletion committed. Nothing more is done: the old row versions holding the text are
    /// dead tuples, never returned by a query, whose space a later (auto)vacuum reuses.
    pub(super) fn scrubbed(&self) {}

    /// Of something written twice, once per dialect (a statement's text, mostly), the
    /// Postgres one.
    pub(super) fn pick<T>(&self, _sqlite: T, postgres: T) -> T {
        postgres
    }

    /// A round trip on a pooled connection: Postgres is up and this node can reach it.
    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
