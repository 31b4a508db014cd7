//! The group commit on Postgres: a batch of messages in one transaction, with a fixed number
//! of statements however large the batch (array binds, no per-message statements).
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
//!
//! Depends on the Postgres connection and the batch plan only.

use std::collections::HashSet;

use super::{Appended, NewMessage, StoreError, batch::Plan};
use crate::server::store::postgres::{ATTEMPTS, Postgres, is_retryable};

/// Stores a batch of messages in one transaction with a fixed number of statements, however
/// large the batch (array binds, no per-message statements): lock the conversations, look up
/// earlier copies (retries), check membership, move every counter in one `UPDATE`, insert
/// every row in one `INSERT`. Run again if it lost a race to another node.
/// `batch` is never empty: the facade answers an empty one itself.
pub(super) async fn append_messages(
    db: &Postgres,
    batch: &[&NewMessage],
    at: i64,
) -> Result<Vec<Appended>, StoreError> {
    // A plain loop, not a retry helper taking an async closure: the future of such a closure
    // is not provably `Send` (rust-lang/rust#110338), and the committer spawns this one.
    let mut attempt = 1;
    loop {
        match try_append_messages(db, batch, at).await {
            Err(err) if attempt < ATTEMPTS && is_retryable(&err) => {
                tracing::debug!(%err, attempt, "batch lost a race to another node; again");
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// One attempt of [`append_messages`].
async fn try_append_messages(
    db: &Postgres,
    batch: &[&NewMessage],
    at: i64,
) -> Result<Vec<Appended>, StoreError> {
    let mut tx = db.begin_write().await?;

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
        let replies: Vec<Option<i64>> = rows
            .iter()
            .map(|(m, _)| m.reply_to.map(|seq| seq.0))
            .collect();
        sqlx::query(
            "INSERT INTO events
             (conv_id, seq, at, sender_id, kind, body, subject_id, client_msg_id, target_seq)
             SELECT r.conv_id, r.seq, $6, r.sender_id, 'message', r.body, NULL, r.client_msg_id,
                    r.target_seq
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                         $7::bigint[])
                  AS r (conv_id, seq, sender_id, body, client_msg_id, target_seq)",
        )
        .bind(&convs)
        .bind(&seqs)
        .bind(&senders)
        .bind(&bodies)
        .bind(&msg_ids)
        .bind(at)
        .bind(&replies)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(out)
}
