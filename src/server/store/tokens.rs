//! Personal access tokens: created (also in bulk with their users, for `admin provision`),
//! found by the hash of their value, listed to their owner, revoked. Their "last used" is
//! batched in memory and written every few seconds (`tokens/uses.rs`); how each database writes
//! such a batch is the one part written twice, side by side below.
//!
//! Depends on `rows` and `users`.

mod uses;

pub(super) use self::uses::TokenUses;

use std::collections::HashMap;

use super::{
    CredentialRowId, Store, StoreError,
    users::{NewUser, UserRecord, insert_user},
};
use crate::{auth::TokenInfo, protocol::UserId};

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

/// Inserts a token (its digest); binds hash, user, name, creation time, expiry.
const INSERT_TOKEN: &str =
    "INSERT INTO access_tokens (token_hash, user_id, name, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5) RETURNING id";

/// Writes a batch of recorded token uses (token row id → when) on SQLite, in one transaction; a
/// use never moves "last used" back.
pub(super) async fn write_uses_sqlite(
    pool: sqlx::SqlitePool,
    batch: HashMap<i64, i64>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for (id, at) in &batch {
        sqlx::query(
            "UPDATE access_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Writes a batch of recorded token uses on Postgres, in one statement (so one implicit
/// transaction); a use never moves "last used" back.
pub(super) async fn write_uses_postgres(
    pool: sqlx::PgPool,
    batch: HashMap<i64, i64>,
) -> Result<(), sqlx::Error> {
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

impl Store {
    /// Creates users and one access token each, in one transaction (all or none).
    pub async fn create_users_with_tokens(
        &self,
        users: &[(NewUser<'_>, Vec<u8>)],
        token_name: &str,
        now: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        on_backend!(self, db => {
            let mut tx = db.pool.begin().await?;
            let mut ids = Vec::with_capacity(users.len());
            for (user, token_hash) in users {
                let id = insert_user!(&mut *tx, user, now)?.id;
                sqlx::query_scalar::<_, i64>(INSERT_TOKEN)
                    .bind(token_hash)
                    .bind(id.0)
                    .bind(token_name)
                    .bind(now)
                    .bind(None::<i64>)
                    .fetch_one(&mut *tx)
                    .await?;
                ids.push(id);
            }
            tx.commit().await?;
            Ok(ids)
        })
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
        on_backend!(self, db => Ok(sqlx::query_scalar(INSERT_TOKEN)
            .bind(token_hash)
            .bind(user.0)
            .bind(name)
            .bind(now)
            .bind(expires_at)
            .fetch_one(&db.pool)
            .await?))
    }

    /// The access token whose value hashes to `token_hash`; marks it used.
    pub async fn use_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<TokenRecord>, StoreError> {
        const SQL: &str =
            "SELECT t.id, t.revoked_at IS NOT NULL AS revoked, t.last_used_at, t.expires_at,
                    u.id AS user_id, u.username, u.display_name
             FROM access_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1";
        on_backend!(self, db => {
            let row = sqlx::query(SQL).bind(token_hash).fetch_optional(&db.pool).await?;
            // "Last used" is kept to the minute and written in batches (see `tokens/uses.rs`).
            Ok(row.map(|row| db.token_uses.note_use(&row, now)).transpose()?)
        })
    }

    /// A user's live (unrevoked) access tokens, newest first.
    pub async fn tokens(&self, user: UserId) -> Result<Vec<TokenInfo>, StoreError> {
        const SQL: &str = "SELECT id, name, created_at, last_used_at, expires_at FROM access_tokens
                           WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id DESC";
        on_backend!(self, db => {
            let rows = sqlx::query(SQL).bind(user.0).fetch_all(&db.pool).await?;
            // Uses this node has not flushed yet count too.
            Ok(db.token_uses.merge(&rows)?)
        })
    }

    /// Revokes one of `user`'s tokens; `false` if they have no such live token.
    pub async fn revoke_token(
        &self,
        user: UserId,
        id: CredentialRowId,
        now: i64,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE access_tokens SET revoked_at = $1
                           WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL";
        on_backend!(self, db => {
            let done = sqlx::query(SQL)
                .bind(now)
                .bind(id)
                .bind(user.0)
                .execute(&db.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
