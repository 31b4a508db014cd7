//! The store: everything the server keeps on disk, behind one narrow interface.
//!
//! Callers see only [`Store`] and the records of each feature; which database sits behind it is
//! the store's business, chosen once by where the data lives ([`Location`]). Two databases can:
//!
//! - SQLite (`store/sqlite.rs`, the embedded default): one file, one process. Writers are
//!   serialised by SQLite itself.
//! - Postgres (`store/postgres.rs`): one database shared by every node of a cluster. Writers
//!   from many processes are ordered by row locks on the conversations they write (seqs stay
//!   gap-free and unique), and a transaction that loses a race to another node is run again.
//!
//! The code is grouped by feature, each feature's file holding what both databases run for it:
//! `users`, `sessions`, `tokens` (and their batched "last used"), `messages` (events and the
//! group commit), `actions` (edits, deletions, reactions), `rooms` (conversations, members,
//! invitations, the directory), `blocks`, `reads`, `epoch` and
//! `backup`. A method is written once, in [`on_backend!`], and compiled for each database; the
//! SQL text is shared wherever the dialects agree (written with `$n` placeholders, which SQLite
//! reads as the n-th parameter too), and where they do not, the two texts stand side by side.
//!
//! Both databases take their schema from `migrations/<backend>`, the same tables and columns in
//! each database's types, and refuse a schema newer than the build knows. An error of the
//! database itself (down, unreachable, timed out) is [`StoreError::Database`].
//!
//! Secrets never reach the store: sessions and tokens are looked up by the SHA-256 of their value,
//! passwords are stored as Argon2id PHC strings.
//!
//! The store depends on the protocol types and `auth::TokenInfo` only, never on the rest of
//! the server.

/// Runs `$body` on whichever database `$store` has, with `$db` bound to that backend (its
/// `pool`, `begin_write()` and `pick()`): the body is written once and compiled for each.
macro_rules! on_backend {
    ($store:expr, $db:ident => $body:expr) => {
        match &$store.backend {
            $crate::server::store::Backend::Sqlite($db) => $body,
            $crate::server::store::Backend::Postgres($db) => $body,
        }
    };
}

mod backup;
mod blocks;
mod epoch;
mod messages;
mod notify;
mod postgres;
mod reads;
// `take_seq!` (in `rooms`) is used by `actions`, declared after it.
#[macro_use]
mod rooms;
mod actions;
mod profile;
mod rows;
mod search;
mod sessions;
mod sqlite;
mod tokens;
mod users;

pub use self::{
    actions::{Acted, Action, NewAction, Refused},
    backup::Restored,
    blocks::Blocked,
    messages::{Appended, NewMessage, Outcome},
    rooms::{InvitationCaps, Invited, RoomInfo, RoomPage},
    search::SearchQuery,
    sessions::SessionRecord,
    tokens::TokenRecord,
    users::{NewUser, Revoked, UserRecord},
};

use std::path::Path;

use crate::protocol::Epoch;

/// A session's or token's row id.
pub type CredentialRowId = i64;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (e.g. a username that is taken).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database could not be opened, migrated, read or written.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The file is not one this server may use (not ours, or from a newer release), or an
    /// operation was refused; nothing was written.
    #[error("{0}")]
    Refused(String),
}

/// The newest migration `newest` of a database, when it is newer than any `migrator` knows:
/// (that version, the newest known). Such a schema is refused before anything is written.
fn unknown_schema(newest: Option<i64>, migrator: &sqlx::migrate::Migrator) -> Option<(i64, i64)> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    newest
        .filter(|&newest| newest > known)
        .map(|newest| (newest, known))
}

/// Where a store's data lives, as configured: `database.path` or `database.url`.
#[derive(Clone, Copy, Debug)]
pub enum Location<'a> {
    /// A database file on this machine (SQLite).
    File(&'a Path),
    /// A database server every node reaches (`postgres://user:password@host:port/db`).
    Url(&'a str),
}

/// The database handle shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    /// Which database this store talks to.
    backend: Backend,
    /// What every clone shares besides the pool, behind one pointer: every connection holds
    /// clones, and its task's size is memory per idle connection.
    held: std::sync::Arc<Held>,
}

/// The parts of a [`Store`] its clones share.
#[derive(Debug)]
struct Held {
    /// The store epoch, read once at open (see `store/epoch.rs`): announced in every `hello`
    /// and `conversation` frame.
    epoch: Epoch,
    /// SQLite: the shared lock on `<path>-lock`, held while any clone lives, which keeps
    /// `admin restore` from replacing the file under this process.
    _lock: Option<std::fs::File>,
}

/// The databases a store can sit on.
#[derive(Clone, Debug)]
enum Backend {
    /// The embedded default: one SQLite file.
    Sqlite(sqlite::Sqlite),
    /// One Postgres database, shared by every node of a cluster.
    Postgres(postgres::Postgres),
}

impl Store {
    /// Opens (creating if missing) the SQLite database at `path` and applies pending migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        let (db, lock) = sqlite::Sqlite::open(path).await?;
        let held = Held {
            epoch: epoch::settle_sqlite(&db.pool).await?,
            _lock: Some(lock),
        };
        Ok(Self {
            held: std::sync::Arc::new(held),
            backend: Backend::Sqlite(db),
        })
    }

    /// Connects to the Postgres database at `url` (`postgres://user:password@host:port/db`) and
    /// applies pending migrations; refuses a schema newer than this build knows.
    pub async fn open_postgres(url: &str) -> Result<Self, StoreError> {
        let db = postgres::Postgres::open(url, postgres::SERVER).await?;
        let held = Held {
            epoch: epoch::settle_postgres(&db.pool).await?,
            _lock: None,
        };
        Ok(Self {
            held: std::sync::Arc::new(held),
            backend: Backend::Postgres(db),
        })
    }

    /// Starts the store's background upkeep through `shutdown`'s tracker: the token-use flush
    /// (both backends; it writes what is left once more when shutdown begins) and, on SQLite,
    /// the WAL checkpoint. A server calls this once; a store nobody starts it on (admin
    /// commands, tests) keeps token uses in memory and leaves checkpoints to SQLite's close.
    pub fn start_upkeep(&self, shutdown: &crate::server::shutdown::Shutdown) {
        on_backend!(self, db => db.start_upkeep(shutdown))
    }

    /// The store epoch: seqs are unique within it. It changes only while no server runs (a
    /// restore, `admin new-epoch`, or the first start on a backup copy).
    pub fn epoch(&self) -> &Epoch {
        &self.held.epoch
    }

    /// Whether [`Self::ping`] takes the database's one write lock (SQLite), so that readiness
    /// is probed in the background rather than for each `/readyz`.
    pub fn ping_takes_write_lock(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// Whether the database answers and accepts writes (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, db => db.ping().await)
    }
}
