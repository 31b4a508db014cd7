//! The store: everything the server keeps on disk, behind one narrow interface.
//!
//! Callers see only [`Store`] and the records below; which database sits behind it is the
//! store's business. Two backends have the same methods, and each [`Store`] method runs on
//! whichever one it has (`on_backend!`):
//!
//! - SQLite (`store/sqlite.rs`, the embedded default): one file, one process. Writers are
//!   serialised by SQLite itself.
//! - Postgres (`store/postgres.rs`): one database shared by every node of a cluster. Writers
//!   from many processes are ordered by row locks on the conversations they write (seqs stay
//!   gap-free and unique), and a transaction that loses a race to another node is run again.
//!
//! Both take their schema from `migrations/<backend>`, the same tables and columns in each
//! database's types, and refuse a schema newer than the build knows. An error of the database
//! itself (down, unreachable, timed out) is [`StoreError::Database`].
//!
//! Secrets never reach the store: sessions and tokens are looked up by the SHA-256 of their value,
//! passwords are stored as Argon2id PHC strings.

#[path = "store/messages/batch.rs"]
mod batch;
#[path = "store/rooms/directory.rs"]
mod directory;
mod epoch;
mod postgres;
mod rows;
mod sqlite;
#[path = "store/tokens/uses.rs"]
mod token_uses;

pub use self::{directory::RoomPage, sqlite::Restored};

use std::path::Path;

use crate::protocol::{
    ClientMsgId, ConvId, ConvSummary, Epoch, Event, EventBody, Member, Seq, UserId,
};

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

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable id.
    pub id: UserId,
    /// As registered, case preserved.
    pub username: String,
    /// Shown to others.
    pub display_name: String,
}

/// What registration writes.
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    /// As typed.
    pub username: &'a str,
    /// Lower-cased, unique.
    pub username_key: &'a str,
    /// Shown to others.
    pub display_name: &'a str,
    /// Argon2id PHC string.
    pub password_hash: &'a str,
}

/// A browser session as stored.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    /// Row id, also the key under which its live sockets are registered.
    pub id: CredentialRowId,
    /// Whose session it is.
    pub user: UserRecord,
    /// Last time it was used, Unix seconds (for the idle timeout).
    pub last_seen_at: i64,
    /// Absolute expiry, Unix seconds.
    pub expires_at: i64,
    /// Set once the session is revoked.
    pub revoked: bool,
}

/// A personal access token as stored.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    /// Row id.
    pub id: CredentialRowId,
    /// Whose token it is.
    pub user: UserRecord,
    /// Set once the token is revoked.
    pub revoked: bool,
    /// When it stops working, Unix seconds; `None` lives until revoked.
    pub expires_at: Option<i64>,
}

/// What a password change revoked, so that the sockets of each can be closed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Revoked {
    /// The user's other sessions (row ids).
    pub sessions: Vec<CredentialRowId>,
    /// Every live access token of the user (row ids).
    pub tokens: Vec<CredentialRowId>,
}

/// A message for the group committer to store.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Where.
    pub conv: ConvId,
    /// Who (from the connection, never from the client).
    pub from: UserId,
    /// The sender's id for it; a retry with the same id is not stored twice.
    pub client_msg_id: ClientMsgId,
    /// The text.
    pub body: String,
}

/// What became of a [`NewMessage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored at a new seq.
    Stored,
    /// A retry of an already stored message: nothing new was written; `seq` is the original's.
    Duplicate,
    /// The sender is not (or no longer) a member: nothing was written.
    NotMember,
}

/// Where a [`NewMessage`] ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The conversation (for a duplicate: the original's).
    pub conv: ConvId,
    /// Its seq (0 when not stored).
    pub seq: Seq,
    /// When it was stored, Unix milliseconds.
    pub at: i64,
    /// Stored, duplicate, or refused.
    pub outcome: Outcome,
}

/// What authorisation needs to know about a room.
#[derive(Clone, Copy, Debug)]
pub struct RoomInfo {
    /// Whether anyone may join.
    pub public: bool,
    /// Who may remove members.
    pub owner: UserId,
}

/// Runs `$call` on whichever backend `$self` has, bound as `$db`.
macro_rules! on_backend {
    ($self:ident, $db:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($db) => $call,
            Backend::Postgres($db) => $call,
        }
    };
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
            epoch: epoch::settle_sqlite(db.pool()).await?,
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
        let db = postgres::Postgres::open(url).await?;
        let held = Held {
            epoch: epoch::settle_postgres(db.pool()).await?,
            _lock: None,
        };
        Ok(Self {
            held: std::sync::Arc::new(held),
            backend: Backend::Postgres(db),
        })
    }

    /// The store epoch: seqs are unique within it. It changes only while no server runs (a
    /// restore, `admin new-epoch`, or the first start on a backup copy).
    pub fn epoch(&self) -> &Epoch {
        &self.held.epoch
    }

    /// Whether this store sits on Postgres (and may be shared with other nodes).
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Writes a consistent copy of the SQLite database at `path` to `to` while servers keep
    /// using it; returns the copy's size in bytes. Never overwrites `to`.
    pub async fn backup_sqlite(path: &Path, to: &Path) -> Result<u64, StoreError> {
        sqlite::backup(path, to).await
    }

    /// Whether this is the SQLite file, whose readiness probe takes the write lock (so it is run
    /// in the background, not for each `/readyz`).
    pub fn is_sqlite(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// Replaces the SQLite database at `path` with the backup `from`, atomically, with a new
    /// epoch; refused (nothing changed) while any process uses it or when `from` is not a
    /// sound switchboard backup this build can read.
    pub async fn restore_sqlite(path: &Path, from: &Path) -> Result<Restored, StoreError> {
        sqlite::restore(path, from, &sqlite::Sqlite::migrator()).await
    }

    /// Gives the SQLite database at `path` a new random epoch; refused while any process uses
    /// it.
    pub async fn new_epoch_sqlite(path: &Path) -> Result<Epoch, StoreError> {
        sqlite::new_epoch(path).await
    }

    /// Gives this (Postgres) store's database a new random epoch, returned. Nodes already
    /// running keep announcing the one they read at start: stop them all first.
    pub async fn new_epoch_postgres(&self) -> Result<Epoch, StoreError> {
        match &self.backend {
            Backend::Postgres(db) => epoch::renew_postgres(db.pool()).await,
            Backend::Sqlite(_) => Err(StoreError::Refused(
                "new_epoch_postgres on an SQLite store".into(),
            )),
        }
    }

    /// Whether the database answers and accepts writes (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, db => db.ping().await)
    }

    /// Creates a user; [`StoreError::Conflict`] when the username is taken.
    pub async fn create_user(&self, user: NewUser<'_>, now: i64) -> Result<UserRecord, StoreError> {
        on_backend!(self, db => db.create_user(user, now).await)
    }

    /// Creates users and one access token each, in one transaction (all or none).
    pub async fn create_users_with_tokens(
        &self,
        users: &[(NewUser<'_>, Vec<u8>)],
        token_name: &str,
        now: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        on_backend!(self, db => db.create_users_with_tokens(users, token_name, now).await)
    }

    /// The user with this case-folded username, and their password hash.
    pub async fn user_with_password(
        &self,
        username_key: &str,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        on_backend!(self, db => db.user_with_password(username_key).await)
    }

    /// The password hash of a user.
    pub async fn password_hash(&self, user: UserId) -> Result<Option<String>, StoreError> {
        on_backend!(self, db => db.password_hash(user).await)
    }

    /// Replaces a user's password hash and revokes every other session and every access token
    /// of theirs, in one transaction. Returns what it revoked.
    pub async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep_session: CredentialRowId,
        now: i64,
    ) -> Result<Revoked, StoreError> {
        on_backend!(self, db => db.set_password(user, password_hash, keep_session, now).await)
    }

    /// Stores a new session under the hash of its token.
    pub async fn create_session(
        &self,
        user: UserId,
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<CredentialRowId, StoreError> {
        on_backend!(self, db => db.create_session(user, token_hash, now, expires_at).await)
    }

    /// The session whose token hashes to `token_hash`.
    pub async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
        on_backend!(self, db => db.session(token_hash).await)
    }

    /// The session with this row id (how a socket re-reads its session at its deadline).
    pub async fn session_by_id(
        &self,
        id: CredentialRowId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        on_backend!(self, db => db.session_by_id(id).await)
    }

    /// Records that a session was used (for the idle timeout); never moves it back.
    pub async fn touch_session(&self, id: CredentialRowId, now: i64) -> Result<(), StoreError> {
        on_backend!(self, db => db.touch_session(id, now).await)
    }

    /// Revokes a session; idempotent.
    pub async fn revoke_session(&self, id: CredentialRowId, now: i64) -> Result<(), StoreError> {
        on_backend!(self, db => db.revoke_session(id, now).await)
    }

    /// Stores a new access token under the hash of its value, valid until `expires_at` (Unix
    /// seconds; `None`: until revoked).
    pub async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &[u8],
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<CredentialRowId, StoreError> {
        on_backend!(self, db => db.create_token(user, name, token_hash, now, expires_at).await)
    }

    /// The access token whose value hashes to `token_hash`; marks it used.
    pub async fn use_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<TokenRecord>, StoreError> {
        on_backend!(self, db => db.use_token(token_hash, now).await)
    }

    /// A user's live (unrevoked) access tokens, newest first.
    pub async fn tokens(&self, user: UserId) -> Result<Vec<crate::auth::TokenInfo>, StoreError> {
        on_backend!(self, db => db.tokens(user).await)
    }

    /// Revokes one of `user`'s tokens; `false` if they have no such live token.
    pub async fn revoke_token(
        &self,
        user: UserId,
        id: CredentialRowId,
        now: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self, db => db.revoke_token(user, id, now).await)
    }

    /// Stores a batch of messages in one transaction (group commit), each at its
    /// conversation's next seq; retries find their original instead, and a sender who is not a
    /// member (checked in the same transaction) stores nothing. All or nothing.
    pub async fn append_messages(
        &self,
        batch: &[&NewMessage],
        at: i64,
    ) -> Result<Vec<Appended>, StoreError> {
        on_backend!(self, db => db.append_messages(batch, at).await)
    }

    /// Whether `user` is a member of `conv`.
    pub async fn is_member(&self, conv: ConvId, user: UserId) -> Result<bool, StoreError> {
        on_backend!(self, db => db.is_member(conv, user).await)
    }

    /// The members of `conv`.
    pub async fn members(&self, conv: ConvId) -> Result<Vec<UserId>, StoreError> {
        on_backend!(self, db => db.members(conv).await)
    }

    /// Up to `limit` members of `conv` by username, with names.
    pub async fn member_list(&self, conv: ConvId, limit: u32) -> Result<Vec<Member>, StoreError> {
        on_backend!(self, db => db.member_list(conv, limit).await)
    }

    /// Summaries of `user`'s conversations (or only of `only`).
    pub async fn conversations(
        &self,
        user: UserId,
        only: Option<ConvId>,
    ) -> Result<Vec<ConvSummary>, StoreError> {
        let mut list = on_backend!(self, db => db.conversations(user, only).await)?;
        for summary in &mut list {
            summary.epoch.clone_from(&self.held.epoch);
        }
        Ok(list)
    }

    /// Up to `limit` events of `conv` after `after`, ascending.
    pub async fn events_after(
        &self,
        conv: ConvId,
        after: Seq,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        on_backend!(self, db => db.events_after(conv, after, limit).await)
    }

    /// Up to `limit` events of `conv` before `before`, ascending.
    pub async fn events_before(
        &self,
        conv: ConvId,
        before: Seq,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        on_backend!(self, db => db.events_before(conv, before, limit).await)
    }

    /// The direct conversation of `a` and `b`, created if missing (`true` when it was).
    pub async fn open_direct(
        &self,
        a: UserId,
        b: UserId,
        at: i64,
    ) -> Result<(ConvId, bool), StoreError> {
        on_backend!(self, db => db.open_direct(a, b, at).await)
    }

    /// Creates a room with `owner` as its only member; returns its `created` event.
    pub async fn create_room(
        &self,
        owner: UserId,
        name: &str,
        public: bool,
        at: i64,
    ) -> Result<Event, StoreError> {
        on_backend!(self, db => db.create_room(owner, name, public, at).await)
    }

    /// A room's visibility and owner; `None` if `conv` is not a room.
    pub async fn room(&self, conv: ConvId) -> Result<Option<RoomInfo>, StoreError> {
        on_backend!(self, db => db.room(conv).await)
    }

    /// Whether the user exists.
    pub async fn user_exists(&self, user: UserId) -> Result<bool, StoreError> {
        on_backend!(self, db => db.user_exists(user).await)
    }

    /// Adds `user` to `conv` and records `body` at the next seq, atomically; `None` if they
    /// already were a member (nothing written).
    pub async fn add_member(
        &self,
        conv: ConvId,
        user: UserId,
        from: UserId,
        body: EventBody,
        at: i64,
    ) -> Result<Option<Event>, StoreError> {
        on_backend!(self, db => db.add_member(conv, user, from, body, at).await)
    }

    /// Removes `user` from `conv` and records `body` at the next seq, atomically; `None` if
    /// they were not a member.
    pub async fn remove_member(
        &self,
        conv: ConvId,
        user: UserId,
        from: UserId,
        body: EventBody,
        at: i64,
    ) -> Result<Option<Event>, StoreError> {
        on_backend!(self, db => db.remove_member(conv, user, from, body, at).await)
    }

    /// Moves the user's read position forward (never back); returns the stored one.
    pub async fn set_read(&self, user: UserId, conv: ConvId, seq: Seq) -> Result<Seq, StoreError> {
        on_backend!(self, db => db.set_read(user, conv, seq).await)
    }

    /// The newest seq of `conv`.
    pub async fn last_seq(&self, conv: ConvId) -> Result<Seq, StoreError> {
        on_backend!(self, db => db.last_seq(conv).await)
    }

    /// Everyone who shares a conversation with `user`.
    pub async fn contacts(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        on_backend!(self, db => db.contacts(user).await)
    }

    /// Renames a room and records the `renamed` event at the next seq, atomically.
    pub async fn rename_room(
        &self,
        conv: ConvId,
        from: UserId,
        name: &str,
        at: i64,
    ) -> Result<Event, StoreError> {
        on_backend!(self, db => db.rename_room(conv, from, name, at).await)
    }

    /// For every conversation with an event stored at or after `since_ms` (Unix milliseconds),
    /// its newest seq, by conversation id. A cluster node that lost its live feed uses it to
    /// find what it missed.
    pub async fn changed_since(&self, since_ms: i64) -> Result<Vec<(ConvId, Seq)>, StoreError> {
        on_backend!(self, db => db.changed_since(since_ms).await)
    }
}
