//! A user's profile: their display name, changed everywhere at once. The change is a `profile`
//! event at the next seq of every conversation they are in, written in the same transaction as
//! the new name, so each conversation replays it in order and a crash leaves all or none.
//!
//! Depends on the store's facade and the event macros of `rooms`.

use super::{Store, StoreError, rooms::event};
use crate::protocol::{ConvId, Event, EventBody, UserId};

impl Store {
    /// Sets `user`'s display name to `name` (empty: their username) and records a `profile`
    /// event in each of their conversations, in id order (the order every writer locks
    /// conversations in). The name as stored, and the events; `None` if there is no such user.
    pub async fn set_display_name(
        &self,
        user: UserId,
        name: &str,
        at: i64,
    ) -> Result<Option<(String, Vec<Event>)>, StoreError> {
        const NAME: &str =
            "UPDATE users SET display_name = CASE WHEN $1 = '' THEN username ELSE $1 END
                            WHERE id = $2 RETURNING display_name";
        const CONVERSATIONS: &str =
            "SELECT conv_id FROM members WHERE user_id = $1 ORDER BY conv_id";
        on_backend!(self, db => {
            let mut tx = db.begin_write().await?;
            let stored: Option<String> = sqlx::query_scalar(NAME)
                .bind(name)
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(stored) = stored else {
                tx.rollback().await?;
                return Ok(None);
            };
            let convs: Vec<i64> = sqlx::query_scalar(CONVERSATIONS)
                .bind(user.0)
                .fetch_all(&mut *tx)
                .await?;
            let body = EventBody::Profile {
                display_name: stored.clone(),
            };
            let mut events = Vec::with_capacity(convs.len());
            for conv in convs.into_iter().map(ConvId) {
                let seq = take_seq!(tx, conv)?.ok_or(sqlx::Error::RowNotFound)?;
                insert_event!(tx, conv, seq, user, at, &body)?;
                events.push(event(conv, seq, user, at, body.clone()));
            }
            tx.commit().await?;
            Ok(Some((stored, events)))
        })
    }
}
