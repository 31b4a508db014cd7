//! Blocks: who a user blocks. A block hides the pair's presence from each other, refuses the
//! blocked user's direct conversations, direct messages and invitations to the blocker, and is
//! listed to every device of the blocker. One text per statement for both databases.
//!
//! Depends on nothing in the store but its facade.

use super::{Store, StoreError};
use crate::protocol::{ConvId, UserId};

/// What a block request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// The block is new.
    Added,
    /// It was already there (nothing written).
    Already,
    /// The blocker's list is full (nothing written).
    Full,
}

impl Store {
    /// Records that `user` blocks `other` unless `user` already blocks `max` users.
    pub async fn block(
        &self,
        user: UserId,
        other: UserId,
        at: i64,
        max: usize,
    ) -> Result<Blocked, StoreError> {
        const SQL: &str = "INSERT INTO blocks (user_id, blocked_id, at)
             SELECT $1, $2, $3
             WHERE (SELECT COUNT(*) FROM blocks WHERE user_id = $1) < $4
             ON CONFLICT DO NOTHING";
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let added = on_backend!(self, db => sqlx::query(SQL)
            .bind(user.0)
            .bind(other.0)
            .bind(at)
            .bind(max)
            .execute(&db.pool)
            .await?
            .rows_affected());
        if added > 0 {
            Ok(Blocked::Added)
        } else if self.blocks(user, other).await? {
            Ok(Blocked::Already)
        } else {
            Ok(Blocked::Full)
        }
    }

    /// Removes `user`'s block of `other`; `false` when there was none.
    pub async fn unblock(&self, user: UserId, other: UserId) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2";
        let removed = on_backend!(self, db => sqlx::query(SQL)
            .bind(user.0)
            .bind(other.0)
            .execute(&db.pool)
            .await?
            .rows_affected());
        Ok(removed > 0)
    }

    /// Everyone `user` blocks, ascending.
    pub async fn blocked_by(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        const SQL: &str = "SELECT blocked_id FROM blocks WHERE user_id = $1 ORDER BY blocked_id";
        let ids: Vec<i64> = on_backend!(self, db => sqlx::query_scalar(SQL)
            .bind(user.0)
            .fetch_all(&db.pool)
            .await?);
        Ok(ids.into_iter().map(UserId).collect())
    }

    /// Whether `user` blocks `other`.
    pub async fn blocks(&self, user: UserId, other: UserId) -> Result<bool, StoreError> {
        const SQL: &str =
            "SELECT EXISTS (SELECT 1 FROM blocks WHERE user_id = $1 AND blocked_id = $2)";
        on_backend!(self, db => Ok(sqlx::query_scalar(SQL)
            .bind(user.0)
            .bind(other.0)
            .fetch_one(&db.pool)
            .await?))
    }

    /// Whether `conv` is a direct conversation whose other member blocks `sender`.
    pub async fn direct_refuses(&self, conv: ConvId, sender: UserId) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM conversations c
                 JOIN members m ON m.conv_id = c.id AND m.user_id <> $2
                 JOIN blocks b ON b.user_id = m.user_id AND b.blocked_id = $2
                 WHERE c.id = $1 AND c.kind = 'direct')";
        on_backend!(self, db => Ok(sqlx::query_scalar(SQL)
            .bind(conv.0)
            .bind(sender.0)
            .fetch_one(&db.pool)
            .await?))
    }

    /// Everyone `user` blocks or is blocked by: the users whose presence and `user`'s are
    /// hidden from each other.
    pub async fn blocked_either_way(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        const SQL: &str = "SELECT blocked_id FROM blocks WHERE user_id = $1
                           UNION SELECT user_id FROM blocks WHERE blocked_id = $1";
        let ids: Vec<i64> = on_backend!(self, db => sqlx::query_scalar(SQL)
            .bind(user.0)
            .fetch_all(&db.pool)
            .await?);
        Ok(ids.into_iter().map(UserId).collect())
    }
}
