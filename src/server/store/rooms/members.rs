//! Who is in a conversation: membership checks and lists, contacts, and joining or leaving,
//! which is an event at the conversation's next seq. One text per statement for both databases.
//!
//! Depends on `rows` and, through `rooms`' helpers, on how `messages` stores an event.

use super::event;
use crate::{
    protocol::{ConvId, Event, EventBody, Member, UserId},
    server::store::{Store, StoreError, rows::Columns},
};

/// Removes a member (binds conv, user).
const REMOVE_MEMBER: &str = "DELETE FROM members WHERE conv_id = $1 AND user_id = $2";

/// A change of membership.
#[derive(Clone, Copy)]
enum Change {
    /// Join, or be invited.
    Add,
    /// Leave, or be removed.
    Remove,
}

/// A conversation member from the columns `id`, `username`, `display_name` (not yet known to be
/// online).
fn member_from<R: Columns>(row: &R) -> Result<Member, sqlx::Error> {
    Ok(Member {
        user: UserId(row.int("id")?),
        username: row.text("username")?,
        display_name: row.text("display_name")?,
        online: false,
    })
}

impl Store {
    /// Whether `user` is a member of `conv`.
    pub async fn is_member(&self, conv: ConvId, user: UserId) -> Result<bool, StoreError> {
        const SQL: &str =
            "SELECT EXISTS (SELECT 1 FROM members WHERE conv_id = $1 AND user_id = $2)";
        on_backend!(self, db => Ok(sqlx::query_scalar(SQL)
            .bind(conv.0)
            .bind(user.0)
            .fetch_one(&db.pool)
            .await?))
    }

    /// The members of `conv`.
    pub async fn members(&self, conv: ConvId) -> Result<Vec<UserId>, StoreError> {
        const SQL: &str = "SELECT user_id FROM members WHERE conv_id = $1";
        let ids: Vec<i64> = on_backend!(self, db => sqlx::query_scalar(SQL)
            .bind(conv.0)
            .fetch_all(&db.pool)
            .await?);
        Ok(ids.into_iter().map(UserId).collect())
    }

    /// Up to `limit` members of `conv` by username, with names.
    pub async fn member_list(&self, conv: ConvId, limit: u32) -> Result<Vec<Member>, StoreError> {
        const SQL: &str = "SELECT u.id, u.username, u.display_name
                           FROM members m JOIN users u ON u.id = m.user_id
                           WHERE m.conv_id = $1 ORDER BY u.username_key LIMIT $2";
        on_backend!(self, db => {
            let rows = sqlx::query(SQL)
                .bind(conv.0)
                .bind(i64::from(limit))
                .fetch_all(&db.pool)
                .await?;
            Ok(rows.iter().map(member_from).collect::<Result<_, _>>()?)
        })
    }

    /// Everyone who shares a conversation with `user`, except those `user` blocks or is
    /// blocked by (presence passes between contacts, and a block hides it both ways).
    pub async fn contacts(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        const SQL: &str = "SELECT DISTINCT o.user_id
                           FROM members m JOIN members o ON o.conv_id = m.conv_id
                           WHERE m.user_id = $1 AND o.user_id <> $1
                             AND NOT EXISTS (SELECT 1 FROM blocks b
                                 WHERE (b.user_id = $1 AND b.blocked_id = o.user_id)
                                    OR (b.user_id = o.user_id AND b.blocked_id = $1))";
        let ids: Vec<i64> = on_backend!(self, db => sqlx::query_scalar(SQL)
            .bind(user.0)
            .fetch_all(&db.pool)
            .await?);
        Ok(ids.into_iter().map(UserId).collect())
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
        self.change_member(Change::Add, conv, user, from, body, at)
            .await
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
        self.change_member(Change::Remove, conv, user, from, body, at)
            .await
    }

    /// Makes `change` to `user`'s membership of `conv` and records `body` at the next seq, in
    /// one transaction; `None`, with nothing written, when it changes nothing. A conversation
    /// that does not exist is an error to add to, and has no one to remove.
    async fn change_member(
        &self,
        change: Change,
        conv: ConvId,
        user: UserId,
        from: UserId,
        body: EventBody,
        at: i64,
    ) -> Result<Option<Event>, StoreError> {
        let seq = on_backend!(self, db => {
            let mut tx = db.begin_write().await?;
            // The conversation's seq (and lock) first, as every writer takes it.
            let Some(seq) = take_seq!(tx, conv)? else {
                return match change {
                    Change::Add => Err(sqlx::Error::RowNotFound.into()),
                    Change::Remove => Ok(None),
                };
            };
            let changed = match change {
                Change::Add => add_member!(tx, conv.0, user, at)?,
                Change::Remove => {
                    let statement = sqlx::query(REMOVE_MEMBER).bind(conv.0).bind(user.0);
                    statement.execute(&mut *tx).await?
                }
            };
            if changed.rows_affected() == 0 {
                // No change: the seq taken above goes back with the rollback.
                tx.rollback().await?;
                return Ok(None);
            }
            insert_event!(tx, conv, seq, from, at, &body)?;
            tx.commit().await?;
            seq
        });
        Ok(Some(event(conv, seq, from, at, body)))
    }
}
