//! Notification settings: a member's notify level and mute for each conversation (columns of
//! `members`, so they go when the membership goes) and a user's "do not disturb" (a column of
//! `users`). One text per statement for both databases.
//!
//! Depends on nothing in the store but its facade.

use super::{Store, StoreError};
use crate::protocol::{ConvId, NotifySettings, UserId};

impl Store {
    /// Sets `user`'s notification settings for `conv`: `false` (nothing written) when they are
    /// not a member of it.
    pub async fn set_notify(
        &self,
        user: UserId,
        conv: ConvId,
        settings: NotifySettings,
    ) -> Result<bool, StoreError> {
        const SQL: &str =
            "UPDATE members SET notify = $3, muted = $4 WHERE conv_id = $1 AND user_id = $2";
        let changed = on_backend!(self, db => sqlx::query(SQL)
            .bind(conv.0)
            .bind(user.0)
            .bind(settings.level.as_str())
            .bind(settings.muted)
            .execute(&db.pool)
            .await?
            .rows_affected());
        Ok(changed > 0)
    }

    /// Turns `user`'s "do not disturb" on or off.
    pub async fn set_do_not_disturb(&self, user: UserId, on: bool) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET do_not_disturb = $2 WHERE id = $1";
        on_backend!(self, db => sqlx::query(SQL)
            .bind(user.0)
            .bind(on)
            .execute(&db.pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Whether `user` is in "do not disturb" (`false` for no such user).
    pub async fn do_not_disturb(&self, user: UserId) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT do_not_disturb FROM users WHERE id = $1";
        let on: Option<bool> = on_backend!(self, db => sqlx::query_scalar(SQL)
            .bind(user.0)
            .fetch_optional(&db.pool)
            .await?);
        Ok(on.unwrap_or(false))
    }
}
