//! Browser sessions: created at log-in, found by the hash of their cookie (or by row id, when a
//! socket re-reads its session), touched for the idle timeout, revoked. One text per statement
//! for both databases.
//!
//! Depends on `rows` and `users` (a session carries its user).

use super::{
    CredentialRowId, Store, StoreError,
    rows::Columns,
    users::{UserRecord, user_from},
};
use crate::protocol::UserId;

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

/// One session and its user (the columns [`session_from`] reads), up to the filter on `s.`.
macro_rules! session_where {
    ($filter:literal) => {
        concat!(
            "SELECT s.id, s.last_seen_at, s.expires_at, s.revoked_at IS NOT NULL AS revoked, ",
            "u.id AS user_id, u.username, u.display_name ",
            "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.",
            $filter
        )
    };
}

/// A session from the columns `id`, `last_seen_at`, `expires_at`, `revoked` and its user's
/// (see [`user_from`]).
fn session_from<R: Columns>(row: &R) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        id: row.int("id")?,
        user: user_from(row)?,
        last_seen_at: row.int("last_seen_at")?,
        expires_at: row.int("expires_at")?,
        revoked: row.flag("revoked")?,
    })
}

impl Store {
    /// Stores a new session under the hash of its token.
    pub async fn create_session(
        &self,
        user: UserId,
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<CredentialRowId, StoreError> {
        const SQL: &str =
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $3, $4) RETURNING id";
        on_backend!(self, db => Ok(sqlx::query_scalar(SQL)
            .bind(token_hash)
            .bind(user.0)
            .bind(now)
            .bind(expires_at)
            .fetch_one(&db.pool)
            .await?))
    }

    /// The session whose token hashes to `token_hash`.
    pub async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
        const SQL: &str = session_where!("token_hash = $1");
        on_backend!(self, db => {
            let row = sqlx::query(SQL).bind(token_hash).fetch_optional(&db.pool).await?;
            Ok(row.as_ref().map(session_from).transpose()?)
        })
    }

    /// The session with this row id (how a socket re-reads its session at its deadline).
    pub async fn session_by_id(
        &self,
        id: CredentialRowId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        const SQL: &str = session_where!("id = $1");
        on_backend!(self, db => {
            let row = sqlx::query(SQL).bind(id).fetch_optional(&db.pool).await?;
            Ok(row.as_ref().map(session_from).transpose()?)
        })
    }

    /// Records that a session was used (for the idle timeout); never moves it back: a socket
    /// may record a use older than one a request (or another node) recorded.
    pub async fn touch_session(&self, id: CredentialRowId, now: i64) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1";
        self.update_session(SQL, id, now).await
    }

    /// Revokes a session; idempotent.
    pub async fn revoke_session(&self, id: CredentialRowId, now: i64) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        self.update_session(SQL, id, now).await
    }

    /// Runs the `UPDATE` `sql` (binds `now`, then the session's row id) on the session `id`.
    async fn update_session(
        &self,
        sql: &'static str,
        id: CredentialRowId,
        now: i64,
    ) -> Result<(), StoreError> {
        on_backend!(self, db => {
            sqlx::query(sql).bind(now).bind(id).execute(&db.pool).await?;
            Ok(())
        })
    }
}
