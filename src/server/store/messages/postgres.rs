//! Conversations, members, events and read positions on Postgres.
//!
//! Seq assignment: `UPDATE conversations SET last_seq = last_seq + n … RETURNING` runs in the
//! transaction that inserts the events. The row lock it takes is held to commit, so writers from
//! every node queue on it: a seq is never used twice or skipped, and a seq becomes visible only
//! after every smaller one has committed.
//!
//! Lock order: every writing transaction locks its conversation row(s) before anything else
//! (members, events), and a batch locks its conversations in ascending id order, so two nodes
//! never wait on each other in a cycle. A send retried on two nodes at once is serialised by the
//! same lock: the second finds the first's row. What is left over (a unique violation, deadlock
//! or serialization failure) runs the whole batch's transaction again, up to `ATTEMPTS` times.

use std::collections::HashSet;

use sqlx::{Postgres as Db, Transaction};

use super::{ATTEMPTS, Postgres, is_retryable};
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

/// Locks `conv`'s row and takes its next seq; `None` if there is no such conversation.
async fn take_seq(tx: &mut Transaction<'_, Db>, conv: ConvId) -> Result<Option<Seq>, sqlx::Error> {
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(conv.0)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(seq.map(Seq))
}

/// Stores `body` at `seq` (taken with [`take_seq`] in the same transaction).
async fn insert_event(
    tx: &mut Transaction<'_, Db>,
    conv: ConvId,
    seq: Seq,
    from: UserId,
    at: i64,
    body: &EventBody,
) -> Result<(), sqlx::Error> {
    let (kind, text, subject, client_msg_id) = event_body_columns(body);
    sqlx::query(
        "INSERT INTO events (conv_id, seq, at, sender_id, kind, body, subject_id, client_msg_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(conv.0)
    .bind(seq.0)
    .bind(at)
    .bind(from.0)
    .bind(kind)
    .bind(text)
    .bind(subject)
    .bind(client_msg_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the next seq of `conv` and stores `body` at it, inside `tx`.
async fn append(
    tx: &mut Transaction<'_, Db>,
    conv: ConvId,
    from: UserId,
    at: i64,
    body: &EventBody,
) -> Result<Seq, sqlx::Error> {
    let seq = take_seq(tx, conv).await?.ok_or(sqlx::Error::RowNotFound)?;
    insert_event(tx, conv, seq, from, at, body).await?;
    Ok(seq)
}

impl Postgres {
    /// Stores a batch of messages in one transaction with a fixed number of statements, however
    /// large the batch (array binds, no per-message statements): lock the conversations, look up
    /// earlier copies (retries), check membership, move every counter in one `UPDATE`, insert
    /// every row in one `INSERT`. Run again if it lost a race to another node.
    pub async fn append_messages(
        &self,
        batch: &[&NewMessage],
        at: i64,
    ) -> Result<Vec<Appended>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // A plain loop, not a retry helper taking an async closure: the future of such a closure
        // is not provably `Send` (rust-lang/rust#110338), and the committer spawns this one.
        let mut attempt = 1;
        loop {
            match self.try_append_messages(batch, at).await {
                Err(err) if attempt < ATTEMPTS && is_retryable(&err) => {
                    tracing::debug!(%err, attempt, "batch lost a race to another node; again");
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    /// One attempt of [`Self::append_messages`].
    async fn try_append_messages(
        &self,
        batch: &[&NewMessage],
        at: i64,
    ) -> Result<Vec<Appended>, StoreError> {
        let mut tx = self.pool.begin().await?;

        // The conversations' row locks, in ascending id order (no deadlock between nodes), held
        // to commit: from here on no other transaction can store into them, so the lookups below
        // see every committed message and membership change that precedes this batch.
        let mut convs: Vec<i64> = batch.iter().map(|m| m.conv.0).collect();
        convs.sort_unstable();
        convs.dedup();
        sqlx::query("SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&convs)
            .execute(&mut *tx)
            .await?;

        let senders: Vec<i64> = batch.iter().map(|m| m.from.0).collect();
        let msg_ids: Vec<&str> = batch.iter().map(|m| m.client_msg_id.0.as_str()).collect();
        let conv_ids: Vec<i64> = batch.iter().map(|m| m.conv.0).collect();

        // Retries of messages stored earlier: answered with the original's conversation and seq.
        let earlier = sqlx::query_as(
            "SELECT sender_id, client_msg_id, conv_id, seq, at FROM events
             WHERE client_msg_id IS NOT NULL
               AND (sender_id, client_msg_id) IN (SELECT * FROM UNNEST($1::bigint[], $2::text[]))",
        )
        .bind(&senders)
        .bind(&msg_ids)
        .fetch_all(&mut *tx)
        .await?;

        // The authoritative membership check, in the transaction that would store the messages.
        let members: HashSet<(i64, i64)> = sqlx::query_as(
            "SELECT conv_id, user_id FROM members
             WHERE (conv_id, user_id) IN (SELECT * FROM UNNEST($1::bigint[], $2::bigint[]))",
        )
        .bind(&conv_ids)
        .bind(&senders)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();

        // Each message's fate; new messages counted per conversation, in batch order.
        let plan = Plan::new(batch, earlier, &members);

        // Move every counter at once; a conversation's new messages take its next seqs in order.
        let counts = plan.counts();
        let mut moved = Vec::new();
        if !counts.is_empty() {
            let (ids, ns): (Vec<i64>, Vec<i64>) = counts.iter().copied().unzip();
            moved = sqlx::query_as(
                "UPDATE conversations c SET last_seq = c.last_seq + k.n
                 FROM UNNEST($1::bigint[], $2::bigint[]) AS k (id, n)
                 WHERE c.id = k.id
                 RETURNING c.id, c.last_seq",
            )
            .bind(&ids)
            .bind(&ns)
            .fetch_all(&mut *tx)
            .await?;
        }
        let (out, rows) = plan.settle(batch, moved, at)?;

        if !rows.is_empty() {
            let convs: Vec<i64> = rows.iter().map(|(m, _)| m.conv.0).collect();
            let seqs: Vec<i64> = rows.iter().map(|(_, seq)| *seq).collect();
            let senders: Vec<i64> = rows.iter().map(|(m, _)| m.from.0).collect();
            let bodies: Vec<&str> = rows.iter().map(|(m, _)| m.body.as_str()).collect();
            let msg_ids: Vec<&str> = rows
                .iter()
                .map(|(m, _)| m.client_msg_id.0.as_str())
                .collect();
            sqlx::query(
                "INSERT INTO events (conv_id, seq, at, sender_id, kind, body, subject_id, client_msg_id)
                 SELECT r.conv_id, r.seq, $6, r.sender_id, 'message', r.body, NULL, r.client_msg_id
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[])
                      AS r (conv_id, seq, sender_id, body, client_msg_id)",
            )
            .bind(&convs)
            .bind(&seqs)
            .bind(&senders)
            .bind(&bodies)
            .bind(&msg_ids)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn is_member(&self, conv: ConvId, user: UserId) -> Result<bool, StoreError> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM members WHERE conv_id = $1 AND user_id = $2")
                .bind(conv.0)
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    pub async fn members(&self, conv: ConvId) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM members WHERE conv_id = $1")
            .bind(conv.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    pub async fn member_list(&self, conv: ConvId, limit: u32) -> Result<Vec<Member>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.display_name FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.conv_id = $1 ORDER BY u.username_key LIMIT $2",
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
             WHERE m.user_id = $1 AND ($2::bigint IS NULL OR c.id = $2)
             ORDER BY c.id",
        )
        .bind(user.0)
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
            "SELECT {EVENT_COLUMNS} FROM events WHERE conv_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3"
        ))
        .bind(conv.0)
        .bind(after.0)
        .bind(i64::from(limit))
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
            "SELECT {EVENT_COLUMNS} FROM events WHERE conv_id = $1 AND seq < $2
             ORDER BY seq DESC LIMIT $3"
        ))
        .bind(conv.0)
        .bind(before.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows.iter().map(event_from).collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }

    /// The direct conversation of `a` and `b`, created if missing. Race-free across nodes: the
    /// unique `direct_key` decides which insert wins (`ON CONFLICT DO NOTHING` waits for a
    /// concurrent one to commit); the loser reads the winner's row.
    pub async fn open_direct(
        &self,
        a: UserId,
        b: UserId,
        at: i64,
    ) -> Result<(ConvId, bool), StoreError> {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let key = format!("{low}:{high}");
        let existing = sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = $1");
        if let Some(id) = existing.bind(&key).fetch_optional(&self.pool).await? {
            return Ok((ConvId(id), false));
        }
        let mut tx = self.pool.begin().await?;
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO conversations (kind, direct_key, created_at) VALUES ('direct', $1, $2)
             ON CONFLICT (direct_key) DO NOTHING RETURNING id",
        )
        .bind(&key)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = created else {
            // Another node created it (and its members, in the same transaction) meanwhile.
            tx.rollback().await?;
            let id: i64 = sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = $1")
                .bind(&key)
                .fetch_one(&self.pool)
                .await?;
            return Ok((ConvId(id), false));
        };
        for user in [low, high] {
            sqlx::query(
                "INSERT INTO members (conv_id, user_id, joined_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
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
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (kind, name, public, owner_id, created_at)
             VALUES ('room', $1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(public)
        .bind(owner.0)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO members (conv_id, user_id, joined_at) VALUES ($1, $2, $3)")
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
            "SELECT public, owner_id FROM conversations WHERE id = $1 AND kind = 'room'",
        )
        .bind(conv.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(room_info_from).transpose()?)
    }

    pub async fn user_exists(&self, user: UserId) -> Result<bool, StoreError> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1")
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
        let mut tx = self.pool.begin().await?;
        // The conversation's lock first, as every writer takes it (see the module docs).
        let seq = take_seq(&mut tx, conv)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        let added = sqlx::query(
            "INSERT INTO members (conv_id, user_id, joined_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(conv.0)
        .bind(user.0)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() == 0 {
            // Already a member: the seq taken above goes back with the rollback.
            tx.rollback().await?;
            return Ok(None);
        }
        insert_event(&mut tx, conv, seq, from, at, &body).await?;
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
        let mut tx = self.pool.begin().await?;
        let Some(seq) = take_seq(&mut tx, conv).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let removed = sqlx::query("DELETE FROM members WHERE conv_id = $1 AND user_id = $2")
            .bind(conv.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        if removed.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        insert_event(&mut tx, conv, seq, from, at, &body).await?;
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
            "INSERT INTO read_cursors (user_id, conv_id, seq) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, conv_id)
             DO UPDATE SET seq = GREATEST(read_cursors.seq, EXCLUDED.seq)
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
            sqlx::query_scalar("SELECT last_seq FROM conversations WHERE id = $1")
                .bind(conv.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(Seq(seq.unwrap_or_default()))
    }

    pub async fn contacts(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT o.user_id FROM members m JOIN members o ON o.conv_id = m.conv_id
             WHERE m.user_id = $1 AND o.user_id <> $1",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    pub async fn rename_room(
        &self,
        conv: ConvId,
        from: UserId,
        name: &str,
        at: i64,
    ) -> Result<Event, StoreError> {
        let mut tx = self.pool.begin().await?;
        let seq = take_seq(&mut tx, conv)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        sqlx::query("UPDATE conversations SET name = $1 WHERE id = $2 AND kind = 'room'")
            .bind(name)
            .bind(conv.0)
            .execute(&mut *tx)
            .await?;
        let body = EventBody::Renamed {
            name: name.to_owned(),
        };
        insert_event(&mut tx, conv, seq, from, at, &body).await?;
        tx.commit().await?;
        Ok(Event {
            conv,
            seq,
            from,
            at,
            body,
        })
    }

    /// For every conversation with an event at or after `since_ms`, its newest seq.
    pub async fn changed_since(&self, since_ms: i64) -> Result<Vec<(ConvId, Seq)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT conv_id, MAX(seq) FROM events WHERE at >= $1 GROUP BY conv_id ORDER BY conv_id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(conv, seq)| (ConvId(conv), Seq(seq)))
            .collect())
    }
}
