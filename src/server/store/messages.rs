//! Messages and the other events of a conversation: the group commit that stores a batch of
//! messages (`messages/batch.rs` decides each message's fate the same way on both databases;
//! `messages/sqlite.rs` and `messages/postgres.rs` run the batch's statements, which differ),
//! reading events back by seq, and how an event is laid out in its row.
//!
//! Depends on `rows`, the two connections and the protocol types.

mod batch;
mod postgres;
mod sqlite;

use super::{Backend, Store, StoreError, rows::Columns};
use crate::protocol::{ClientMsgId, ConvId, Event, EventBody, Seq, UserId};

/// A message for the group committer to store.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Where.
    pub conv: ConvId,
    /// Who (from the connection, never from the client).
    pub from: UserId,
    /// The sender's id for it; a retry with the same id is not stored twice.
    pub client_msg_id: ClientMsgId,
    /// The text.
    pub body: String,
    /// The earlier message of `conv` it answers (checked by the caller to be one).
    pub reply_to: Option<Seq>,
}

/// What became of a [`NewMessage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored at a new seq.
    Stored,
    /// A retry of an already stored message: nothing new was written; `seq` is the original's.
    Duplicate,
    /// The sender is not (or no longer) a member: nothing was written.
    NotMember,
}

/// Where a [`NewMessage`] ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The conversation (for a duplicate: the original's).
    pub conv: ConvId,
    /// Its seq (0 when not stored).
    pub seq: Seq,
    /// When it was stored, Unix milliseconds.
    pub at: i64,
    /// Stored, duplicate, or refused.
    pub outcome: Outcome,
}

/// Takes the next seq of a conversation (binds its id): `RETURNING` the new `last_seq`, no row
/// when there is no such conversation. On Postgres this takes the conversation's row lock.
pub(super) const TAKE_SEQ: &str =
    "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq";

/// Stores one event; binds conv, seq, at, sender and the five [`event_body_columns`].
pub(super) const INSERT_EVENT: &str = "INSERT INTO events
     (conv_id, seq, at, sender_id, kind, body, subject_id, client_msg_id, target_seq)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// The `SELECT` of [`event_from`]'s columns, up to its `WHERE`.
macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT conv_id, seq, at, sender_id, kind, body, subject_id, client_msg_id, ",
            "target_seq ",
            "FROM events WHERE ",
            $rest
        )
    };
}

/// An event body's columns: `kind`, `body` (text), `subject_id`, `client_msg_id`,
/// `target_seq`.
pub(super) type BodyColumns<'b> = (
    &'static str,
    Option<&'b str>,
    Option<i64>,
    Option<&'b str>,
    Option<i64>,
);

/// How an event's body is stored (see [`BodyColumns`]). An edit, deletion or reaction keeps
/// the message it is about in `target_seq`, a reply the message it answers; an emoji or an
/// edit's text is the `body`.
pub(super) fn event_body_columns(body: &EventBody) -> BodyColumns<'_> {
    match body {
        EventBody::Message {
            client_msg_id,
            body,
            reply_to,
        } => (
            "message",
            Some(body.as_str()),
            None,
            Some(client_msg_id.0.as_str()),
            reply_to.map(|seq| seq.0),
        ),
        EventBody::Created { name } => ("created", Some(name.as_str()), None, None, None),
        EventBody::Joined {} => ("joined", None, None, None, None),
        EventBody::Invited { user } => ("invited", None, Some(user.0), None, None),
        EventBody::Left {} => ("left", None, None, None, None),
        EventBody::Removed { user } => ("removed", None, Some(user.0), None, None),
        EventBody::Renamed { name } => ("renamed", Some(name.as_str()), None, None, None),
        EventBody::Profile { display_name } => {
            ("profile", Some(display_name.as_str()), None, None, None)
        }
        EventBody::Edited { target, body } => {
            ("edited", Some(body.as_str()), None, None, Some(target.0))
        }
        EventBody::Deleted { target } => ("deleted", None, None, None, Some(target.0)),
        EventBody::Reacted { target, emoji } => {
            ("reacted", Some(emoji.as_str()), None, None, Some(target.0))
        }
        EventBody::Unreacted { target, emoji } => (
            "unreacted",
            Some(emoji.as_str()),
            None,
            None,
            Some(target.0),
        ),
        EventBody::Tombstone { target } => ("tombstone", None, None, None, target.map(|seq| seq.0)),
        EventBody::Unknown => ("unknown", None, None, None, None),
    }
}

/// The body stored as [`event_body_columns`] wrote it; an error names a kind this build does not
/// know.
fn event_body_from_columns(
    kind: &str,
    text: Option<String>,
    subject: Option<i64>,
    client_msg_id: Option<String>,
    target: Option<i64>,
) -> Result<EventBody, String> {
    let target_seq = Seq(target.unwrap_or_default());
    Ok(match kind {
        "message" => EventBody::Message {
            client_msg_id: ClientMsgId(client_msg_id.unwrap_or_default()),
            body: text.unwrap_or_default(),
            reply_to: target.map(Seq),
        },
        "created" => EventBody::Created {
            name: text.unwrap_or_default(),
        },
        "joined" => EventBody::Joined {},
        "invited" => EventBody::Invited {
            user: UserId(subject.unwrap_or_default()),
        },
        "left" => EventBody::Left {},
        "removed" => EventBody::Removed {
            user: UserId(subject.unwrap_or_default()),
        },
        "renamed" => EventBody::Renamed {
            name: text.unwrap_or_default(),
        },
        "profile" => EventBody::Profile {
            display_name: text.unwrap_or_default(),
        },
        "edited" => EventBody::Edited {
            target: target_seq,
            body: text.unwrap_or_default(),
        },
        "deleted" => EventBody::Deleted { target: target_seq },
        "reacted" => EventBody::Reacted {
            target: target_seq,
            emoji: text.unwrap_or_default(),
        },
        "unreacted" => EventBody::Unreacted {
            target: target_seq,
            emoji: text.unwrap_or_default(),
        },
        "tombstone" => EventBody::Tombstone {
            target: target.map(Seq),
        },
        other => return Err(format!("unknown event kind {other:?}")),
    })
}

/// An event from the columns of [`select_events!`].
fn event_from<R: Columns>(row: &R) -> Result<Event, sqlx::Error> {
    let body = event_body_from_columns(
        &row.text("kind")?,
        row.opt_text("body")?,
        row.opt_int("subject_id")?,
        row.opt_text("client_msg_id")?,
        row.opt_int("target_seq")?,
    )
    .map_err(|err| sqlx::Error::Decode(err.into()))?;
    Ok(Event {
        conv: ConvId(row.int("conv_id")?),
        seq: Seq(row.int("seq")?),
        from: UserId(row.int("sender_id")?),
        at: row.int("at")?,
        body,
    })
}

impl Store {
    /// Stores a batch of messages in one transaction (group commit), each at its
    /// conversation's next seq; retries find their original instead, and a sender who is not a
    /// member (checked in the same transaction) stores nothing. All or nothing.
    pub async fn append_messages(
        &self,
        batch: &[&NewMessage],
        at: i64,
    ) -> Result<Vec<Appended>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        match &self.backend {
            Backend::Sqlite(db) => sqlite::append_messages(db, batch, at).await,
            Backend::Postgres(db) => postgres::append_messages(db, batch, at).await,
        }
    }

    /// Up to `limit` events of `conv` after `after`, ascending.
    pub async fn events_after(
        &self,
        conv: ConvId,
        after: Seq,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        const SQL: &str = select_events!("conv_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
        self.events(SQL, conv, after, limit).await
    }

    /// Up to `limit` events of `conv` before `before`, ascending.
    pub async fn events_before(
        &self,
        conv: ConvId,
        before: Seq,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        const SQL: &str = select_events!("conv_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3");
        let mut events = self.events(SQL, conv, before, limit).await?;
        events.reverse();
        Ok(events)
    }

    /// The events `sql` selects, given `conv`, `seq` and `limit` (as `$1`, `$2`, `$3`).
    async fn events(
        &self,
        sql: &'static str,
        conv: ConvId,
        seq: Seq,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        on_backend!(self, db => {
            let rows = sqlx::query(sql)
                .bind(conv.0)
                .bind(seq.0)
                .bind(i64::from(limit))
                .fetch_all(&db.pool)
                .await?;
            Ok(rows.iter().map(event_from).collect::<Result<_, _>>()?)
        })
    }

    /// The newest seq of `conv`.
    pub async fn last_seq(&self, conv: ConvId) -> Result<Seq, StoreError> {
        const SQL: &str = "SELECT last_seq FROM conversations WHERE id = $1";
        let seq: Option<i64> = on_backend!(self, db => sqlx::query_scalar(SQL)
            .bind(conv.0)
            .fetch_optional(&db.pool)
            .await?);
        Ok(Seq(seq.unwrap_or_default()))
    }

    /// For every conversation with an event stored at or after `since_ms` (Unix milliseconds),
    /// its newest seq, by conversation id. A cluster node that lost its live feed uses it to
    /// find what it missed.
    pub async fn changed_since(&self, since_ms: i64) -> Result<Vec<(ConvId, Seq)>, StoreError> {
        const SQL: &str = "SELECT conv_id, MAX(seq) FROM events WHERE at >= $1
                           GROUP BY conv_id ORDER BY conv_id";
        let rows: Vec<(i64, i64)> = on_backend!(self, db => sqlx::query_as(SQL)
            .bind(since_ms)
            .fetch_all(&db.pool)
            .await?);
        Ok(rows
            .into_iter()
            .map(|(conv, seq)| (ConvId(conv), Seq(seq)))
            .collect())
    }
}
