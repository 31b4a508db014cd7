//! Read positions: how far each user has read each conversation. They only move forward.
//!
//! Depends on nothing in the store but its facade.

use super::{Store, StoreError};
use crate::protocol::{ConvId, Seq, UserId};

impl Store {
    /// Moves the user's read position forward (never back); returns the stored one.
    pub async fn set_read(&self, user: UserId, conv: ConvId, seq: Seq) -> Result<Seq, StoreError> {
        const SQL: &str = "INSERT INTO read_cursors (user_id, conv_id, seq) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, conv_id) DO UPDATE SET seq = CASE
                 WHEN read_cursors.seq < excluded.seq THEN excluded.seq ELSE read_cursors.seq END
             RETURNING seq";
        let stored: i64 = on_backend!(self, db => sqlx::query_scalar(SQL)
            .bind(user.0)
            .bind(conv.0)
            .bind(seq.0)
            .fetch_one(&db.pool)
            .await?);
        Ok(Seq(stored))
    }
}
