//! Conversations, members, events and read positions on SQLite.
//!
//! Seq assignment: `UPDATE conversations SET last_seq = last_seq + 1 … RETURNING last_seq` and the
//! event's `INSERT` run in one transaction, so a seq is never used twice or skipped. SQLite has
//! one writer at a time, which makes that atomic; message batches from the group committer are
//! one transaction each.

use std::collections::HashSet;

use sqlx::{Sqlite as Db, Transaction};

use super::Sqlite;
use crate::{
    protocol::{ConvId, ConvSummary, Event, EventBody, Member, Seq, UserId},
    server::store::{
        Appended, NewMessage, RoomInfo, StoreError,
        batch::Plan,
        rows::{
            EVENT_COLUMNS, event_body_columns, event_from, member_from, room_info_from,
            summary_from,
        },
    },
};

/// Takes the next seq of `conv` and stores `body` at it, inside `tx`.
async fn append(
    tx: &mut Transaction<'_, Db>,
    conv: ConvId,
    from: UserId,
    at: i64,
    body: &EventBody,
) -> Result<Seq, sqlx::Error> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
    )
    .bind(conv.0)
    .fetch_one(&mut **tx)
    .await?;
    let (kind, text, subject, client_msg_id) = event_body_columns(body);
    sqlx::query(
        "INSERT INTO events (conv_id, seq, at, sender_id, kind, body, subject_id, client_msg_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(conv.0)
    .bind(seq)
    .bind(at)
    .bind(from.0)
    .bind(kind)
    .bind(text)
    .bind(subject)
    .bind(client_msg_id)
    .execute(&mut **tx)
    .await?;
    Ok(Seq(seq))
}

impl Sqlite {
    /// Stores a batch of messages in one transaction with a fixed number of statements, however
    /// large the batch: one lookup of earlier copies (retries), one membership check, one seq
    /// allocation per batch (every conversation's counter moves in a single `UPDATE`), one
    /// multi-row `INSERT`. Each statement is a round trip to SQLite's worker thread, so this is
    /// what makes group commit cheap per message.
    pub async fn append_messages(
        &self,
        batch: &[&NewMessage],
        at: i64,
    ) -> Result<Vec<Appended>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let pairs = vec!["(?, ?)"; batch.len()].join(", ");

        // Retries of messages stored earlier: answered with the original's conversation and seq.
        // Written as a join so that SQLite searches the idempotency index per message (the
        // `IS NOT NULL` lets it use that partial index); `(a, b) IN (VALUES …)` scanned the
        // whole events table on every commit.
        let sql = format!(
            "WITH wanted(sender_id, client_msg_id) AS (VALUES {pairs})
             SELECT e.sender_id, e.client_msg_id, e.conv_id, e.seq, e.at
             FROM wanted w JOIN events e
               ON e.sender_id = w.sender_id AND e.client_msg_id = w.client_msg_id
             WHERE e.client_msg_id IS NOT NULL"
        );
        let mut query = sqlx::query_as(&sql);
        for m in batch {
            query = query.bind(m.from.0).bind(m.client_msg_id.0.as_str());
        }
        let earlier = query.fetch_all(&mut *tx).await?;

        // The authoritative membership check, in the transaction that would store the messages:
        // a member removed since the request was checked cannot post.
        let sql = format!(
            "WITH wanted(conv_id, user_id) AS (VALUES {pairs})
             SELECT DISTINCT m.conv_id, m.user_id FROM wanted w
             JOIN members m ON m.conv_id = w.conv_id AND m.user_id = w.user_id"
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
        for m in batch {
            query = query.bind(m.conv.0).bind(m.from.0);
        }
        let members: HashSet<(i64, i64)> = query.fetch_all(&mut *tx).await?.into_iter().collect();

        // Decide each message's fate; count new messages per conversation, in batch order.
        let plan = Plan::new(batch, earlier, &members);

        // Move every counter at once; a conversation's new messages take its next seqs in order.
        let counts = plan.counts();
        let mut moved = Vec::new();
        if !counts.is_empty() {
            let arms = " WHEN ? THEN ?".repeat(counts.len());
            let ids = vec!["?"; counts.len()].join(", ");
            let sql = format!(
                "UPDATE conversations SET last_seq = last_seq + CASE id{arms} END
                 WHERE id IN ({ids}) RETURNING id, last_seq"
            );
            let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
            for (conv, n) in counts {
                query = query.bind(conv).bind(n);
            }
            for (conv, _) in counts {
                query = query.bind(conv);
            }
            moved = query.fetch_all(&mut *tx).await?;
        }
        let (out, rows) = plan.settle(batch, moved, at)?;

        if !rows.is_empty() {
            let values = vec!["(?, ?, ?, ?, 'message', ?, NULL, ?)"; rows.len()].join(", ");
            let sql = format!(
                "INSERT INTO events (conv_id, seq, at, sender_id, kind, body, subject_id, client_msg_id)
                 VALUES {values}"
            );
            let mut query = sqlx::query(&sql);
            for (m, seq) in &rows {
                query = query
                    .bind(m.conv.0)
                    .bind(seq)
                    .bind(at)
                    .bind(m.from.0)
                    .bind(m.body.as_str())
                    .bind(m.client_msg_id.0.as_str());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn is_member(&self, conv: ConvId, user: UserId) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM members WHERE conv_id = ? AND user_id = ?")
                .bind(conv.0)
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    pub async fn members(&self, conv: ConvId) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM members WHERE conv_id = ?")
            .bind(conv.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    pub async fn member_list(&self, conv: ConvId, limit: u32) -> Result<Vec<Member>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.display_name FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.conv_id = ? ORDER BY u.username_key LIMIT ?",
        )
        .bind(conv.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(member_from).collect::<Result<_, _>>()?)
    }

    /// Summaries of `user`'s conversations, or of one of them.
    pub async fn conversations(
        &self,
        user: UserId,
        only: Option<ConvId>,
    ) -> Result<Vec<ConvSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.kind, c.name, c.public, c.owner_id, c.last_seq,
                    COALESCE(r.seq, 0) AS read_seq,
                    o.id AS peer_id, o.display_name AS peer_name
             FROM members m
             JOIN conversations c ON c.id = m.conv_id
             LEFT JOIN read_cursors r ON r.user_id = m.user_id AND r.conv_id = c.id
             LEFT JOIN members om ON c.kind = 'direct' AND om.conv_id = c.id AND om.user_id <> m.user_id
             LEFT JOIN users o ON o.id = om.user_id
             WHERE m.user_id = ? AND (? IS NULL OR c.id = ?)
             ORDER BY c.id",
        )
        .bind(user.0)
        .bind(only.map(|c| c.0))
        .bind(only.map(|c| c.0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(summary_from).collect::<Result<_, _>>()?)
    }

    pub async fn events_after(
        &self,
        conv: ConvId,
        after: Seq,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        ))
        .bind(conv.0)
        .bind(after.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(event_from).collect::<Result<_, _>>()?)
    }

    pub async fn events_before(
        &self,
        conv: ConvId,
        before: Seq,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE conv_id = ? AND seq < ?
             ORDER BY seq DESC LIMIT ?"
        ))
        .bind(conv.0)
        .bind(before.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows.iter().map(event_from).collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }

    pub async fn open_direct(
        &self,
        a: UserId,
        b: UserId,
        at: i64,
    ) -> Result<(ConvId, bool), StoreError> {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let key = format!("{low}:{high}");
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = ?")
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = existing {
            return Ok((ConvId(id), false));
        }
        // BEGIN IMMEDIATE holds the write lock, so no one can create this pair meanwhile.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (kind, direct_key, created_at) VALUES ('direct', ?, ?)
             RETURNING id",
        )
        .bind(&key)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        for user in [low, high] {
            sqlx::query(
                "INSERT OR IGNORE INTO members (conv_id, user_id, joined_at) VALUES (?, ?, ?)",
            )
            .bind(id)
            .bind(user.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((ConvId(id), true))
    }

    pub async fn create_room(
        &self,
        owner: UserId,
        name: &str,
        public: bool,
        at: i64,
    ) -> Result<Event, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (kind, name, public, owner_id, created_at)
             VALUES ('room', ?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(public)
        .bind(owner.0)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO members (conv_id, user_id, joined_at) VALUES (?, ?, ?)")
            .bind(id)
            .bind(owner.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let body = EventBody::Created {
            name: name.to_owned(),
        };
        let seq = append(&mut tx, ConvId(id), owner, at, &body).await?;
        tx.commit().await?;
        Ok(Event {
            conv: ConvId(id),
            seq,
            from: owner,
            at,
            body,
        })
    }

    pub async fn room(&self, conv: ConvId) -> Result<Option<RoomInfo>, StoreError> {
        let row = sqlx::query(
            "SELECT public, owner_id FROM conversations WHERE id = ? AND kind = 'room'",
        )
        .bind(conv.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(room_info_from).transpose()?)
    }

    pub async fn user_exists(&self, user: UserId) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = ?")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    pub async fn add_member(
        &self,
        conv: ConvId,
        user: UserId,
        from: UserId,
        body: EventBody,
        at: i64,
    ) -> Result<Option<Event>, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let added = sqlx::query(
            "INSERT OR IGNORE INTO members (conv_id, user_id, joined_at) VALUES (?, ?, ?)",
        )
        .bind(conv.0)
        .bind(user.0)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() == 0 {
            return Ok(None);
        }
        let seq = append(&mut tx, conv, from, at, &body).await?;
        tx.commit().await?;
        Ok(Some(Event {
            conv,
            seq,
            from,
            at,
            body,
        }))
    }

    pub async fn remove_member(
        &self,
        conv: ConvId,
        user: UserId,
        from: UserId,
        body: EventBody,
        at: i64,
    ) -> Result<Option<Event>, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let removed = sqlx::query("DELETE FROM members WHERE conv_id = ? AND user_id = ?")
            .bind(conv.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        if removed.rows_affected() == 0 {
            return Ok(None);
        }
        let seq = append(&mut tx, conv, from, at, &body).await?;
        tx.commit().await?;
        Ok(Some(Event {
            conv,
            seq,
            from,
            at,
            body,
        }))
    }

    pub async fn set_read(&self, user: UserId, conv: ConvId, seq: Seq) -> Result<Seq, StoreError> {
        let stored: i64 = sqlx::query_scalar(
            "INSERT INTO read_cursors (user_id, conv_id, seq) VALUES (?, ?, ?)
             ON CONFLICT (user_id, conv_id) DO UPDATE SET seq = MAX(seq, excluded.seq)
             RETURNING seq",
        )
        .bind(user.0)
        .bind(conv.0)
        .bind(seq.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(Seq(stored))
    }

    pub async fn last_seq(&self, conv: ConvId) -> Result<Seq, StoreError> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT last_seq FROM conversations WHERE id = ?")
                .bind(conv.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(Seq(seq.unwrap_or_default()))
    }

    pub async fn contacts(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT o.user_id FROM members m JOIN members o ON o.conv_id = m.conv_id
             WHERE m.user_id = ? AND o.user_id <> ?",
        )
        .bind(user.0)
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    /// For every conversation with an event at or after `since_ms`, its newest seq.
    pub async fn changed_since(&self, since_ms: i64) -> Result<Vec<(ConvId, Seq)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT conv_id, MAX(seq) FROM events WHERE at >= ? GROUP BY conv_id ORDER BY conv_id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(conv, seq)| (ConvId(conv), Seq(seq)))
            .collect())
    }

    pub async fn rename_room(
        &self,
        conv: ConvId,
        from: UserId,
        name: &str,
        at: i64,
    ) -> Result<Event, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE conversations SET name = ? WHERE id = ? AND kind = 'room'")
            .bind(name)
            .bind(conv.0)
            .execute(&mut *tx)
            .await?;
        let body = EventBody::Renamed {
            name: name.to_owned(),
        };
        let seq = append(&mut tx, conv, from, at, &body).await?;
        tx.commit().await?;
        Ok(Event {
            conv,
            seq,
            from,
            at,
            body,
        })
    }
}
