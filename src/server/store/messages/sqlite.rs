//! The group commit on SQLite: a batch of messages in one transaction, with a fixed number of
//! statements however large the batch.
//!
//! Seq assignment: `UPDATE conversations SET last_seq = last_seq + n … RETURNING last_seq` and
//! the events' `INSERT` run in one transaction, so a seq is never used twice or skipped. SQLite
//! has one writer at a time, which makes that atomic.
//!
//! Depends on the SQLite connection and the batch plan only.

use std::collections::HashSet;

use super::{Appended, NewMessage, StoreError, batch::Plan};
use crate::server::store::sqlite::Sqlite;

/// Stores a batch of messages in one transaction with a fixed number of statements, however
/// large the batch: one lookup of earlier copies (retries), one membership check, one seq
/// allocation per batch (every conversation's counter moves in a single `UPDATE`), one
/// multi-row `INSERT`. Each statement is a round trip to SQLite's worker thread, so this is
/// what makes group commit cheap per message.
/// `batch` is never empty: the facade answers an empty one itself.
pub(super) async fn append_messages(
    db: &Sqlite,
    batch: &[&NewMessage],
    at: i64,
) -> Result<Vec<Appended>, StoreError> {
    let mut tx = db.begin_write().await?;
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
        let values = vec!["(?, ?, ?, ?, 'message', ?, NULL, ?, ?)"; rows.len()].join(", ");
        let sql = format!(
            "INSERT INTO events
             (conv_id, seq, at, sender_id, kind, body, subject_id, client_msg_id, target_seq)
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
                .bind(m.client_msg_id.0.as_str())
                .bind(m.reply_to.map(|seq| seq.0));
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(out)
}
