//! The SQLite backend: one file, WAL mode, migrations from `migrations/sqlite` applied at open.
//!
//! `synchronous = FULL`: a write is on disk when its transaction commits, so what the server has
//! confirmed survives a process crash and a power loss alike. Write transactions start with
//! `BEGIN IMMEDIATE`: they take the write lock up front and wait for it (busy timeout), instead
//! of reading first and failing with SQLITE_BUSY when another writer got in between.

#[path = "backup/sqlite.rs"]
mod backup;
#[path = "messages/sqlite.rs"]
mod chat;
mod directory;

pub use self::backup::{Restored, backup, new_epoch, restore};

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    Row,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

use super::{
    CredentialRowId, NewUser, Revoked, SessionRecord, StoreError, TokenRecord, UserRecord,
    rows::{is_unique_violation, session_from, session_query, user_from},
    token_uses::TokenUses,
};
use crate::{auth::TokenInfo, protocol::UserId};

/// A pool of connections to one SQLite file.
#[derive(Clone, Debug)]
pub struct Sqlite {
    /// Readers run concurrently; SQLite serialises writers itself (WAL, busy timeout).
    pool: SqlitePool,
    /// Token uses not yet written, flushed in one transaction ([`write_token_uses`]) every few
    /// seconds, so a connect never waits for a disk flush to record "last used".
    token_uses: TokenUses,
}

/// Refuses, before anything is written, a database that switchboard did not create (tables but
/// no migration history) or that a newer switchboard has migrated past what this one knows.
async fn refuse_foreign(
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
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(newest) = newest
        && newest > known
    {
        return Err(StoreError::Refused(format!(
            "its schema is version {newest}, newer than this switchboard knows ({known}); \
             run the newer release, or restore a backup taken with this one"
        )));
    }
    Ok(())
}

/// How often the write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies the write-ahead log into the database file, without blocking writers (`PASSIVE`),
/// until the pool closes.
async fn checkpoint(pool: SqlitePool) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() {
            return;
        }
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(%err, "WAL checkpoint failed");
        }
    }
}

/// Writes a batch of recorded token uses (token row id → when) in one transaction; a use never
/// moves "last used" back.
async fn write_token_uses(
    pool: SqlitePool,
    batch: std::collections::HashMap<i64, i64>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for (id, at) in &batch {
        sqlx::query(
            "UPDATE access_tokens SET last_used_at = ? WHERE id = ? \
             AND (last_used_at IS NULL OR last_used_at < ?)",
        )
        .bind(at)
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Inserts a user, on the pool or inside a transaction.
async fn insert_user<'e, E>(exec: E, user: &NewUser<'_>, now: i64) -> Result<UserRecord, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let result = sqlx::query(
        "INSERT INTO users (username, username_key, display_name, password_hash, created_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(user.username)
    .bind(user.username_key)
    .bind(user.display_name)
    .bind(user.password_hash)
    .bind(now)
    .execute(exec)
    .await;
    match result {
        Ok(done) => Ok(UserRecord {
            id: UserId(done.last_insert_rowid()),
            username: user.username.to_owned(),
            display_name: user.display_name.to_owned(),
        }),
        Err(err) if is_unique_violation(&err) => Err(StoreError::Conflict("username taken")),
        Err(err) => Err(err.into()),
    }
}

/// Inserts an access token (its digest), on the pool or inside a transaction.
async fn insert_token<'e, E>(
    exec: E,
    user: UserId,
    name: &str,
    token_hash: &[u8],
    now: i64,
    expires_at: Option<i64>,
) -> Result<CredentialRowId, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let done = sqlx::query(
        "INSERT INTO access_tokens (token_hash, user_id, name, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(name)
    .bind(now)
    .bind(expires_at)
    .execute(exec)
    .await?;
    Ok(done.last_insert_rowid())
}

impl Sqlite {
    /// Opens the file at `path`, with the shared lock on `<path>-lock` that keeps `admin
    /// restore` from replacing it while the returned lock file is kept open.
    pub async fn open(path: &Path) -> Result<(Self, std::fs::File), StoreError> {
        let migrator = Self::migrator();
        let lock = backup::lock_shared(path)?;
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
            .busy_timeout(Duration::from_secs(5))
            // Checkpoints run on their own task (below), not inside whichever commit happens to
            // cross the threshold: a checkpoint flushes the database file, and doing that in the
            // group commit stalled every message behind it (the p99 tail in BENCHMARKS.md).
            .pragma("wal_autocheckpoint", "0");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        migrator.run(&pool).await?;
        tokio::spawn(checkpoint(pool.clone()));
        let token_uses = TokenUses::default();
        token_uses.spawn_flush(pool.clone(), write_token_uses);
        Ok((Self { pool, token_uses }, lock))
    }

    /// The pool, for the store's own modules (the epoch).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The migrations this build knows, for checking a backup before restoring it.
    pub fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/sqlite")
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        // BEGIN IMMEDIATE takes the write lock: proves the file is writable, writes nothing.
        let mut conn = self.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
        Ok(())
    }

    pub async fn create_user(&self, user: NewUser<'_>, now: i64) -> Result<UserRecord, StoreError> {
        insert_user(&self.pool, &user, now).await
    }

    /// Creates users and one access token each, in one transaction (all or none).
    pub async fn create_users_with_tokens(
        &self,
        users: &[(NewUser<'_>, Vec<u8>)],
        token_name: &str,
        now: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(users.len());
        for (user, token_hash) in users {
            let id = insert_user(&mut *tx, user, now).await?.id;
            insert_token(&mut *tx, id, token_name, token_hash, now, None).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn user_with_password(
        &self,
        username_key: &str,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT id AS user_id, username, display_name, password_hash
             FROM users WHERE username_key = ?",
        )
        .bind(username_key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((user_from(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    pub async fn password_hash(&self, user: UserId) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        keep_session: CredentialRowId,
        now: i64,
    ) -> Result<Revoked, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        let revoked: Vec<i64> = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = ?
             WHERE user_id = ? AND id <> ? AND revoked_at IS NULL
             RETURNING id",
        )
        .bind(now)
        .bind(user.0)
        .bind(keep_session)
        .fetch_all(&mut *tx)
        .await?;
        let tokens: Vec<i64> = sqlx::query_scalar(
            "UPDATE access_tokens SET revoked_at = ?
             WHERE user_id = ? AND revoked_at IS NULL
             RETURNING id",
        )
        .bind(now)
        .bind(user.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Revoked {
            sessions: revoked,
            tokens,
        })
    }

    pub async fn create_session(
        &self,
        user: UserId,
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<CredentialRowId, StoreError> {
        let done = sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(now)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.last_insert_rowid())
    }

    pub async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(&session_query("token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(session_from).transpose()?)
    }

    pub async fn session_by_id(
        &self,
        id: CredentialRowId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(&session_query("id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(session_from).transpose()?)
    }

    pub async fn touch_session(&self, id: CredentialRowId, now: i64) -> Result<(), StoreError> {
        // Never back: a socket may record a use older than one a request recorded.
        sqlx::query("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn revoke_session(&self, id: CredentialRowId, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &[u8],
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<CredentialRowId, StoreError> {
        insert_token(&self.pool, user, name, token_hash, now, expires_at).await
    }

    pub async fn use_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.revoked_at IS NOT NULL AS revoked, t.last_used_at, t.expires_at,
                    u.id AS user_id, u.username, u.display_name
             FROM access_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        // "Last used" is kept to the minute and written in batches (see `token_uses`).
        Ok(row
            .map(|row| self.token_uses.note_use(&row, now))
            .transpose()?)
    }

    pub async fn tokens(&self, user: UserId) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at, expires_at FROM access_tokens
             WHERE user_id = ? AND revoked_at IS NULL ORDER BY id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        // Uses not yet flushed count too.
        Ok(self.token_uses.merge(&rows)?)
    }

    pub async fn revoke_token(
        &self,
        user: UserId,
        id: CredentialRowId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE access_tokens SET revoked_at = ?
             WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(user.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
