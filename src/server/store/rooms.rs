//! Conversations: direct pairs and rooms, their summaries, creating and renaming a room; their
//! members (`rooms/members.rs`), invitations waiting for an answer (`rooms/invitations.rs`) and
//! the public directory (`rooms/directory.rs`). One text per
//! statement for both databases, except where the directory's dialects differ.
//!
//! Every change to a conversation is an event at its next seq, stored in the transaction that
//! makes the change, and every such transaction takes the seq first ([`take_seq!`]): on
//! Postgres that is the conversation's row lock, which every writer of any node takes before
//! anything else (see `messages/postgres.rs`); on SQLite the transaction holds the one write
//! lock from its start. A change that turns out to be a no-op rolls back, seq and all.
//!
//! Depends on `rows` and `messages` (how an event is stored).

/// In the transaction `$tx`, takes the next seq of the conversation `$conv`: `Ok(None)` when
/// there is no such conversation.
macro_rules! take_seq {
    ($tx:ident, $conv:expr) => {
        sqlx::query_scalar::<_, i64>($crate::server::store::messages::TAKE_SEQ)
            .bind($conv.0)
            .fetch_optional(&mut *$tx)
            .await
            .map(|seq| seq.map($crate::protocol::Seq))
    };
}

/// In the transaction `$tx`, stores the event `$body` of `$conv` at `$seq` (taken with
/// [`take_seq!`]).
macro_rules! insert_event {
    ($tx:ident, $conv:expr, $seq:expr, $from:expr, $at:expr, $body:expr) => {{
        let (kind, text, subject, client_msg_id, target) =
            $crate::server::store::messages::event_body_columns($body);
        sqlx::query($crate::server::store::messages::INSERT_EVENT)
            .bind($conv.0)
            .bind($seq.0)
            .bind($at)
            .bind($from.0)
            .bind(kind)
            .bind(text)
            .bind(subject)
            .bind(client_msg_id)
            .bind(target)
            .execute(&mut *$tx)
            .await
    }};
}

/// In the transaction `$tx`, makes `$user` a member of the conversation with id `$conv_id`
/// since `$at`: the statement's result (no row changed when they already were one).
macro_rules! add_member {
    ($tx:ident, $conv_id:expr, $user:expr, $at:expr) => {
        sqlx::query($crate::server::store::rooms::ADD_MEMBER)
            .bind($conv_id)
            .bind($user.0)
            .bind($at)
            .execute(&mut *$tx)
            .await
    };
}

mod directory;
mod invitations;
mod members;

pub use self::{
    directory::RoomPage,
    invitations::{InvitationCaps, Invited},
};

use super::{Store, StoreError, rows::Columns};
use crate::protocol::{
    ConvId, ConvKind, ConvSummary, Event, EventBody, NotifyLevel, NotifySettings, Seq, UserId,
};

/// What authorisation needs to know about a room.
#[derive(Clone, Copy, Debug)]
pub struct RoomInfo {
    /// Whether anyone may join.
    pub public: bool,
    /// Who may remove members.
    pub owner: UserId,
}

/// Adds a member (binds conv, user, joined at); nothing when they already are one.
pub(super) const ADD_MEMBER: &str =
    "INSERT INTO members (conv_id, user_id, joined_at) VALUES ($1, $2, $3)
                          ON CONFLICT DO NOTHING";

/// The direct conversation with this `direct_key`.
const DIRECT: &str = "SELECT id FROM conversations WHERE direct_key = $1";

/// A conversation summary from the columns `id`, `kind`, `name`, `public`, `owner_id`,
/// `last_seq`, `read_seq`, `peer_id`, `peer_name`, `notify`, `muted`, `last_at`: a direct
/// conversation is named after, and points at, the other user; a room has its own name and
/// points at its owner.
fn summary_from<R: Columns>(row: &R) -> Result<ConvSummary, sqlx::Error> {
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
        notify: NotifySettings {
            // The column's CHECK allows only the three names.
            level: NotifyLevel::parse(&row.text("notify")?).unwrap_or_default(),
            muted: row.flag("muted")?,
        },
        last_at: row.int("last_at")?,
    })
}

/// The event `body` of `conv` at `seq`, by `from` at `at`, as a writer answers it.
pub(super) fn event(conv: ConvId, seq: Seq, from: UserId, at: i64, body: EventBody) -> Event {
    Event {
        conv,
        seq,
        from,
        at,
        body,
    }
}

/// A room's visibility and owner from the columns `public`, `owner_id`.
fn room_info_from<R: Columns>(row: &R) -> Result<RoomInfo, sqlx::Error> {
    Ok(RoomInfo {
        public: row.flag("public")?,
        owner: UserId(row.opt_int("owner_id")?.unwrap_or_default()),
    })
}

impl Store {
    /// Summaries of `user`'s conversations (or only of `only`).
    pub async fn conversations(
        &self,
        user: UserId,
        only: Option<ConvId>,
    ) -> Result<Vec<ConvSummary>, StoreError> {
        const SQL: &str = "SELECT c.id, c.kind, c.name, c.public, c.owner_id, c.last_seq,
                    COALESCE(r.seq, 0) AS read_seq,
                    o.id AS peer_id, o.display_name AS peer_name, m.notify, m.muted,
                    COALESCE((SELECT e.at FROM events e
                              WHERE e.conv_id = c.id
                                AND e.kind NOT IN ('edited', 'deleted', 'reacted', 'unreacted', 'profile')
                              ORDER BY e.seq DESC LIMIT 1),
                             c.created_at) AS last_at
             FROM members m
             JOIN conversations c ON c.id = m.conv_id
             LEFT JOIN read_cursors r ON r.user_id = m.user_id AND r.conv_id = c.id
             LEFT JOIN members om ON c.kind = 'direct' AND om.conv_id = c.id AND om.user_id <> m.user_id
             LEFT JOIN users o ON o.id = om.user_id
             WHERE m.user_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR c.id = $2)
             ORDER BY c.id";
        let mut list: Vec<ConvSummary> = on_backend!(self, db => {
            let rows = sqlx::query(SQL)
                .bind(user.0)
                .bind(only.map(|c| c.0))
                .fetch_all(&db.pool)
                .await?;
            rows.iter().map(summary_from).collect::<Result<_, _>>()?
        });
        for summary in &mut list {
            summary.epoch.clone_from(&self.held.epoch);
        }
        Ok(list)
    }

    /// The direct conversation of `a` and `b`, created if missing (`true` when it was).
    /// Race-free across nodes: the unique `direct_key` decides which insert wins (`ON CONFLICT
    /// DO NOTHING` waits for a concurrent one to commit); the loser reads the winner's row.
    pub async fn open_direct(
        &self,
        a: UserId,
        b: UserId,
        at: i64,
    ) -> Result<(ConvId, bool), StoreError> {
        const CREATE: &str = "INSERT INTO conversations (kind, direct_key, created_at)
                              VALUES ('direct', $1, $2)
                              ON CONFLICT (direct_key) DO NOTHING RETURNING id";
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let key = format!("{low}:{high}");
        on_backend!(self, db => {
            let existing = sqlx::query_scalar(DIRECT).bind(&key).fetch_optional(&db.pool).await?;
            if let Some(id) = existing {
                return Ok((ConvId(id), false));
            }
            let mut tx = db.begin_write().await?;
            let created: Option<i64> = sqlx::query_scalar(CREATE)
                .bind(&key)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(id) = created else {
                // Another writer created it (and its members, in the same transaction) meanwhile.
                tx.rollback().await?;
                let id = sqlx::query_scalar(DIRECT).bind(&key).fetch_one(&db.pool).await?;
                return Ok((ConvId(id), false));
            };
            for user in [low, high] {
                add_member!(tx, id, user, at)?;
            }
            tx.commit().await?;
            Ok((ConvId(id), true))
        })
    }

    /// Creates a room with `owner` as its only member; returns its `created` event.
    pub async fn create_room(
        &self,
        owner: UserId,
        name: &str,
        public: bool,
        at: i64,
    ) -> Result<Event, StoreError> {
        const CREATE: &str = "INSERT INTO conversations (kind, name, public, owner_id, created_at)
                              VALUES ('room', $1, $2, $3, $4) RETURNING id";
        let body = EventBody::Created {
            name: name.to_owned(),
        };
        let (conv, seq) = on_backend!(self, db => {
            let mut tx = db.begin_write().await?;
            let id: i64 = sqlx::query_scalar(CREATE)
                .bind(name)
                .bind(public)
                .bind(owner.0)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            let conv = ConvId(id);
            add_member!(tx, id, owner, at)?;
            let seq = take_seq!(tx, conv)?.ok_or(sqlx::Error::RowNotFound)?;
            insert_event!(tx, conv, seq, owner, at, &body)?;
            tx.commit().await?;
            (conv, seq)
        });
        Ok(event(conv, seq, owner, at, body))
    }

    /// A room's visibility and owner; `None` if `conv` is not a room.
    pub async fn room(&self, conv: ConvId) -> Result<Option<RoomInfo>, StoreError> {
        const SQL: &str =
            "SELECT public, owner_id FROM conversations WHERE id = $1 AND kind = 'room'";
        on_backend!(self, db => {
            let row = sqlx::query(SQL).bind(conv.0).fetch_optional(&db.pool).await?;
            Ok(row.as_ref().map(room_info_from).transpose()?)
        })
    }

    /// Renames a room and records the `renamed` event at the next seq, atomically.
    pub async fn rename_room(
        &self,
        conv: ConvId,
        from: UserId,
        name: &str,
        at: i64,
    ) -> Result<Event, StoreError> {
        const SQL: &str = "UPDATE conversations SET name = $1 WHERE id = $2 AND kind = 'room'";
        let body = EventBody::Renamed {
            name: name.to_owned(),
        };
        let seq = on_backend!(self, db => {
            let mut tx = db.begin_write().await?;
            let seq = take_seq!(tx, conv)?.ok_or(sqlx::Error::RowNotFound)?;
            sqlx::query(SQL).bind(name).bind(conv.0).execute(&mut *tx).await?;
            insert_event!(tx, conv, seq, from, at, &body)?;
            tx.commit().await?;
            seq
        });
        Ok(event(conv, seq, from, at, body))
    }
}
