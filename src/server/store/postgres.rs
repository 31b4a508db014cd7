//! The Postgres backend: one database shared by every node of a cluster, migrations from
//! `migrations/postgres` applied at open (under sqlx's advisory lock, so nodes starting together
//! migrate once).
//!
//! The queries mirror the SQLite backend's, with `$n` placeholders. What differs is concurrency:
//! SQLite has one writer at a time, Postgres has many, from many processes. Every transaction that
//! writes a conversation's events takes that conversation's row lock first (the `UPDATE … SET
//! last_seq` that allocates seqs, or `SELECT … FOR UPDATE` in ascending id order for a batch) and
//! holds it to commit; see `postgres/chat.rs`.
//!
//! Connections are acquired within [`ACQUIRE_TIMEOUT`]: with Postgres down, a call fails quickly
//! with [`StoreError::Database`] instead of hanging.

#[path = "messages/postgres.rs"]
mod chat;
mod directory;

use std::{collections::HashMap, time::Duration};

use sqlx::{
    Row,
    postgres::{PgPool, PgPoolOptions},
};

use super::{
    CredentialRowId, NewUser, Revoked, SessionRecord, StoreError, TokenRecord, UserRecord,
    rows::{is_unique_violation, session_from, session_query, user_from},
    token_uses::TokenUses,
};
use crate::{auth::TokenInfo, protocol::UserId};

/// A pool of connections to one Postgres database.
#[derive(Clone, Debug)]
pub struct Postgres {
    /// Shared by every request of this node; other nodes have their own.
    pool: PgPool,
    /// Token uses not yet written, flushed in one statement ([`write_token_uses`]) every few
    /// seconds, so a connect never waits for a commit to record "last used".
    token_uses: TokenUses,
}

/// Connections per node.
const MAX_CONNECTIONS: u32 = 16;

/// How long a call waits for a connection (including connecting) before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How many times a transaction that lost a race to another node is run in all.
const ATTEMPTS: u32 = 3;

/// Whether `err` means "another transaction got in the way; running again will see its result":
/// a unique violation (another node stored the same retry first), a deadlock, or a
/// serialization failure.
fn is_retryable(err: &StoreError) -> bool {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("23505" | "40P01" | "40001"))
        }
        _ => false,
    }
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
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(newest) = newest
        && newest > known
    {
        return Err(StoreError::Refused(format!(
            "the Postgres schema is version {newest}, newer than this switchboard knows \
             ({known}); run the newer release"
        )));
    }
    Ok(())
}

/// Writes a batch of recorded token uses (token row id → when) in one statement, so one
/// implicit transaction; a use never moves "last used" back.
async fn write_token_uses(pool: PgPool, batch: HashMap<i64, i64>) -> Result<(), sqlx::Error> {
    let (ids, ats): (Vec<i64>, Vec<i64>) = batch.into_iter().unzip();
    sqlx::query(
        "UPDATE access_tokens t SET last_used_at = u.at
         FROM UNNEST($1::bigint[], $2::bigint[]) AS u (id, at)
         WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)",
    )
    .bind(&ids)
    .bind(&ats)
    .execute(&pool)
    .await?;
    Ok(())
}

/// Inserts a user, on the pool or inside a transaction.
async fn insert_user<'e, E>(exec: E, user: &NewUser<'_>, now: i64) -> Result<UserRecord, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let result: Result<i64, _> = sqlx::query_scalar(
        "INSERT INTO users (username, username_key, display_name, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user.username)
    .bind(user.username_key)
    .bind(user.display_name)
    .bind(user.password_hash)
    .bind(now)
    .fetch_one(exec)
    .await;
    match result {
        Ok(id) => Ok(UserRecord {
            id: UserId(id),
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
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    Ok(sqlx::query_scalar(
        "INSERT INTO access_tokens (token_hash, user_id, name, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(name)
    .bind(now)
    .bind(expires_at)
    .fetch_one(exec)
    .await?)
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`), refuses a
    /// schema newer than this build knows, and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let migrator = sqlx::migrate!("./migrations/postgres");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        {
            let mut conn = pool.acquire().await?;
            refuse_newer(&mut conn, &migrator).await?;
        }
        migrator.run(&pool).await?;
        let token_uses = TokenUses::default();
        token_uses.spawn_flush(pool.clone(), write_token_uses);
        Ok(Self { pool, token_uses })
    }

    /// The pool, for the store's own modules (the epoch).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        // A round trip on a pooled connection: Postgres is up and this node can reach it.
        sqlx::query("SELECT 1").execute(&self.pool).await?;
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
             FROM users WHERE username_key = $1",
        )
        .bind(username_key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((user_from(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    pub async fn password_hash(&self, user: UserId) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
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
        let mut tx = self.pool.begin().await?;
        // Takes the user's row lock first, so two changes of one password are serialised.
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        let revoked: Vec<i64> = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = $1
             WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL
             RETURNING id",
        )
        .bind(now)
        .bind(user.0)
        .bind(keep_session)
        .fetch_all(&mut *tx)
        .await?;
        let tokens: Vec<i64> = sqlx::query_scalar(
            "UPDATE access_tokens SET revoked_at = $1
             WHERE user_id = $2 AND revoked_at IS NULL
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
        Ok(sqlx::query_scalar(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(now)
        .bind(now)
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(&session_query("token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(session_from).transpose()?)
    }

    pub async fn session_by_id(
        &self,
        id: CredentialRowId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(&session_query("id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(session_from).transpose()?)
    }

    pub async fn touch_session(&self, id: CredentialRowId, now: i64) -> Result<(), StoreError> {
        // Never back: another node may have recorded a later use.
        sqlx::query("UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn revoke_session(&self, id: CredentialRowId, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
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
             WHERE t.token_hash = $1",
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
             WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        // Uses this node has not flushed yet count too.
        Ok(self.token_uses.merge(&rows)?)
    }

    pub async fn revoke_token(
        &self,
        user: UserId,
        id: CredentialRowId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1
             WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(user.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
