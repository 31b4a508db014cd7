//! Rows ↔ records, the same for both backends: both databases have the same tables and columns
//! (in their own types), so a row of either decodes into the same Rust values. Each backend keeps
//! its SQL; what it reads back is mapped here, and what it writes is split into columns here.

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{RoomInfo, SessionRecord, UserRecord};
use crate::protocol::{
    ClientMsgId, ConvId, ConvKind, ConvSummary, Event, EventBody, Member, RoomListing, Seq, UserId,
};

/// A result row of either backend, read by column name as the few types the store keeps.
pub(super) trait Columns {
    /// A non-null integer column.
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    /// A nullable integer column.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    /// A non-null text column.
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    /// A boolean column (or expression).
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
}

impl<R> Columns for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(column)
    }

    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }

    fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.try_get(column)
    }
}

/// Whether `err` is a broken uniqueness rule.
pub(super) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A user from the columns `user_id`, `username`, `display_name`.
pub(super) fn user_from<R: Columns>(row: &R) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: UserId(row.int("user_id")?),
        username: row.text("username")?,
        display_name: row.text("display_name")?,
    })
}

/// A session from the columns `id`, `last_seen_at`, `expires_at`, `revoked` and its user's
/// (see [`user_from`]).
/// The query for one session and its user (the columns [`session_from`] reads), with the
/// filter on `s.` appended by the backend in its placeholder style (`id = ?`, `token_hash = $1`).
pub(super) fn session_query(filter: &str) -> String {
    format!(
        "SELECT s.id, s.last_seen_at, s.expires_at, s.revoked_at IS NOT NULL AS revoked, \
                u.id AS user_id, u.username, u.display_name \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.{filter}"
    )
}

pub(super) fn session_from<R: Columns>(row: &R) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        id: row.int("id")?,
        user: user_from(row)?,
        last_seen_at: row.int("last_seen_at")?,
        expires_at: row.int("expires_at")?,
        revoked: row.flag("revoked")?,
    })
}

/// A conversation member from the columns `id`, `username`, `display_name` (not yet known to be
/// online).
pub(super) fn member_from<R: Columns>(row: &R) -> Result<Member, sqlx::Error> {
    Ok(Member {
        user: UserId(row.int("id")?),
        username: row.text("username")?,
        display_name: row.text("display_name")?,
        online: false,
    })
}

/// A conversation summary from the columns `id`, `kind`, `name`, `public`, `owner_id`,
/// `last_seq`, `read_seq`, `peer_id`, `peer_name`: a direct conversation is named after, and
/// points at, the other user; a room has its own name and points at its owner.
pub(super) fn summary_from<R: Columns>(row: &R) -> Result<ConvSummary, sqlx::Error> {
    let direct = row.text("kind")? == "direct";
    let (peer, name) = if direct {
        (row.opt_int("peer_id")?, row.opt_text("peer_name")?)
    } else {
        (row.opt_int("owner_id")?, row.opt_text("name")?)
    };
    Ok(ConvSummary {
        id: ConvId(row.int("id")?),
        kind: if direct {
            ConvKind::Direct
        } else {
            ConvKind::Room
        },
        name: name.unwrap_or_default(),
        public: row.flag("public")?,
        peer: peer.map(UserId),
        last_seq: Seq(row.int("last_seq")?),
        read_seq: Seq(row.int("read_seq")?),
        // Stamped by `Store::conversations`, which knows the store's epoch.
        epoch: Default::default(),
    })
}

/// A public room from the columns `id`, `name` and `n` (its member count).
pub(super) fn room_listing_from<R: Columns>(row: &R) -> Result<RoomListing, sqlx::Error> {
    Ok(RoomListing {
        id: ConvId(row.int("id")?),
        name: row.opt_text("name")?.unwrap_or_default(),
        members: u32::try_from(row.int("n")?).unwrap_or(u32::MAX),
    })
}

/// A room's visibility and owner from the columns `public`, `owner_id`.
pub(super) fn room_info_from<R: Columns>(row: &R) -> Result<RoomInfo, sqlx::Error> {
    Ok(RoomInfo {
        public: row.flag("public")?,
        owner: UserId(row.opt_int("owner_id")?.unwrap_or_default()),
    })
}

/// The columns of [`event_from`], in a `SELECT`.
pub(super) const EVENT_COLUMNS: &str =
    "conv_id, seq, at, sender_id, kind, body, subject_id, client_msg_id";

/// How an event's body is stored: its `kind`, `body` (text), `subject_id` and `client_msg_id`
/// columns.
pub(super) fn event_body_columns(
    body: &EventBody,
) -> (&'static str, Option<&str>, Option<i64>, Option<&str>) {
    match body {
        EventBody::Message {
            client_msg_id,
            body,
        } => (
            "message",
            Some(body.as_str()),
            None,
            Some(client_msg_id.0.as_str()),
        ),
        EventBody::Created { name } => ("created", Some(name.as_str()), None, None),
        EventBody::Joined {} => ("joined", None, None, None),
        EventBody::Invited { user } => ("invited", None, Some(user.0), None),
        EventBody::Left {} => ("left", None, None, None),
        EventBody::Removed { user } => ("removed", None, Some(user.0), None),
        EventBody::Renamed { name } => ("renamed", Some(name.as_str()), None, None),
    }
}

/// The body stored as [`event_body_columns`] wrote it; an error names a kind this build does not
/// know.
fn event_body_from_columns(
    kind: &str,
    text: Option<String>,
    subject: Option<i64>,
    client_msg_id: Option<String>,
) -> Result<EventBody, String> {
    Ok(match kind {
        "message" => EventBody::Message {
            client_msg_id: ClientMsgId(client_msg_id.unwrap_or_default()),
            body: text.unwrap_or_default(),
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
        other => return Err(format!("unknown event kind {other:?}")),
    })
}

/// An event from the columns [`EVENT_COLUMNS`].
pub(super) fn event_from<R: Columns>(row: &R) -> Result<Event, sqlx::Error> {
    let body = event_body_from_columns(
        &row.text("kind")?,
        row.opt_text("body")?,
        row.opt_int("subject_id")?,
        row.opt_text("client_msg_id")?,
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
