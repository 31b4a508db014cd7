//! Users: registration, the password (and what changing it revokes), lookups. One text per
//! statement for both databases.
//!
//! Depends on `rows` only (and the facade it adds methods to).

use sqlx::Row;

use super::{CredentialRowId, Store, StoreError, rows::Columns, rows::is_unique_violation};
use crate::protocol::UserId;

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

/// What a password change revoked, so that the sockets of each can be closed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Revoked {
    /// The user's other sessions (row ids).
    pub sessions: Vec<CredentialRowId>,
    /// Every live access token of the user (row ids).
    pub tokens: Vec<CredentialRowId>,
}

/// A user from the columns `user_id`, `username`, `display_name`.
pub(super) fn user_from<R: Columns>(row: &R) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: UserId(row.int("user_id")?),
        username: row.text("username")?,
        display_name: row.text("display_name")?,
    })
}

/// Inserts a user; binds username, key, display name, password hash, creation time.
pub(super) const INSERT_USER: &str =
    "INSERT INTO users (username, username_key, display_name, password_hash, created_at)
     VALUES ($1, $2, $3, $4, $5) RETURNING id";

/// Runs [`INSERT_USER`] for the [`NewUser`] `$user` on the executor `$exec` (the pool or a
/// transaction of either database): a `Result<UserRecord, StoreError>`, a taken name being
/// [`StoreError::Conflict`].
macro_rules! insert_user {
    ($exec:expr, $user:expr, $now:expr) => {
        $crate::server::store::users::inserted(
            sqlx::query_scalar($crate::server::store::users::INSERT_USER)
                .bind($user.username)
                .bind($user.username_key)
                .bind($user.display_name)
                .bind($user.password_hash)
                .bind($now)
                .fetch_one($exec)
                .await,
            $user,
        )
    };
}
pub(super) use insert_user;

/// The user that [`INSERT_USER`] stored (its new id, or why not).
pub(super) fn inserted(
    result: Result<i64, sqlx::Error>,
    user: &NewUser<'_>,
) -> Result<UserRecord, StoreError> {
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

impl Store {
    /// Creates a user; [`StoreError::Conflict`] when the username is taken.
    pub async fn create_user(&self, user: NewUser<'_>, now: i64) -> Result<UserRecord, StoreError> {
        on_backend!(self, db => insert_user!(&db.pool, &user, now))
    }

    /// The user with this case-folded username, and their password hash.
    pub async fn user_with_password(
        &self,
        username_key: &str,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        const SQL: &str = "SELECT id AS user_id, username, display_name, password_hash
                           FROM users WHERE username_key = $1";
        on_backend!(self, db => {
            let row = sqlx::query(SQL)
                .bind(username_key)
                .fetch_optional(&db.pool)
                .await?;
            row.map(|row| Ok((user_from(&row)?, row.try_get("password_hash")?)))
                .transpose()
        })
    }

    /// The password hash of a user.
    pub async fn password_hash(&self, user: UserId) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT password_hash FROM users WHERE id = $1";
        on_backend!(self, db => Ok(sqlx::query_scalar(SQL)
            .bind(user.0)
            .fetch_optional(&db.pool)
            .await?))
    }

    /// Whether the user exists.
    pub async fn user_exists(&self, user: UserId) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)";
        on_backend!(self, db => Ok(sqlx::query_scalar(SQL)
            .bind(user.0)
            .fetch_one(&db.pool)
            .await?))
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
        const SET: &str = "UPDATE users SET password_hash = $1 WHERE id = $2";
        const SESSIONS: &str = "UPDATE sessions SET revoked_at = $1
                                WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL
                                RETURNING id";
        const TOKENS: &str = "UPDATE access_tokens SET revoked_at = $1
                              WHERE user_id = $2 AND revoked_at IS NULL
                              RETURNING id";
        on_backend!(self, db => {
            let mut tx = db.begin_write().await?;
            // First, so two changes of one password are serialised (the user's row lock).
            sqlx::query(SET)
                .bind(password_hash)
                .bind(user.0)
                .execute(&mut *tx)
                .await?;
            let sessions: Vec<i64> = sqlx::query_scalar(SESSIONS)
                .bind(now)
                .bind(user.0)
                .bind(keep_session)
                .fetch_all(&mut *tx)
                .await?;
            let tokens: Vec<i64> = sqlx::query_scalar(TOKENS)
                .bind(now)
                .bind(user.0)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Revoked { sessions, tokens })
        })
    }
}
