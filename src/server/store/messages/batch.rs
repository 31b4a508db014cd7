//! The part of a group commit that is the same on both backends: given what the database said
//! (earlier copies of the batch's messages, the senders' memberships, the moved seq counters),
//! decide what becomes of each message and which rows to insert. The backends run the queries,
//! inside the one transaction that stores the batch.

use std::collections::{HashMap, HashSet};

use super::{Appended, NewMessage, Outcome, StoreError};
use crate::protocol::{ConvId, Seq};

/// The messages of a batch to insert, each with its seq.
pub(super) type NewRows<'m> = Vec<(&'m NewMessage, i64)>;

/// What becomes of one message of a batch.
enum Fate {
    /// A retry of a message stored by an earlier transaction: (conv, seq, at).
    Earlier(i64, i64, i64),
    /// A retry of the message at this index of the same batch.
    SameBatch(usize),
    /// The sender is not a member.
    NotMember,
    /// Stored now.
    New,
}

/// Each message's fate, and how many new messages each conversation takes.
pub(super) struct Plan {
    /// One per message, in batch order.
    fates: Vec<Fate>,
    /// Conversation id → its number of new messages, in batch order.
    counts: Vec<(i64, i64)>,
}

impl Plan {
    /// Decides each message's fate from `earlier` (rows of `sender_id, client_msg_id, conv_id,
    /// seq, at`: the batch's messages already stored) and `members` (the batch's (conv, sender)
    /// pairs that are memberships), counting new messages per conversation in batch order.
    pub(super) fn new(
        batch: &[&NewMessage],
        earlier: Vec<(i64, String, i64, i64, i64)>,
        members: &HashSet<(i64, i64)>,
    ) -> Self {
        let earlier: HashMap<(i64, String), (i64, i64, i64)> = earlier
            .into_iter()
            .map(|(sender, msg_id, conv, seq, at)| ((sender, msg_id), (conv, seq, at)))
            .collect();
        let mut first_in_batch: HashMap<(i64, &str), usize> = HashMap::new();
        let mut counts: Vec<(i64, i64)> = Vec::new();
        let mut fates = Vec::with_capacity(batch.len());
        for (i, m) in batch.iter().enumerate() {
            let key = (m.from.0, m.client_msg_id.0.as_str());
            let fate = if let Some(&(conv, seq, at)) = earlier.get(&(key.0, key.1.to_owned())) {
                Fate::Earlier(conv, seq, at)
            } else if let Some(&first) = first_in_batch.get(&key) {
                Fate::SameBatch(first)
            } else if !members.contains(&(m.conv.0, m.from.0)) {
                Fate::NotMember
            } else {
                first_in_batch.insert(key, i);
                match counts.iter_mut().find(|(conv, _)| *conv == m.conv.0) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((m.conv.0, 1)),
                }
                Fate::New
            };
            fates.push(fate);
        }
        Self { fates, counts }
    }

    /// Conversation id → how far its seq counter moves (its new messages), in batch order; empty
    /// when nothing is stored.
    pub(super) fn counts(&self) -> &[(i64, i64)] {
        &self.counts
    }

    /// Where each message of `batch` ended up, and the new rows to insert (message, seq), given
    /// `moved`: (conversation id, `last_seq` after the move) for every conversation of
    /// [`Self::counts`]. A conversation's new messages take its next seqs in batch order.
    pub(super) fn settle<'m>(
        &self,
        batch: &[&'m NewMessage],
        moved: Vec<(i64, i64)>,
        at: i64,
    ) -> Result<(Vec<Appended>, NewRows<'m>), StoreError> {
        let mut next_seq: HashMap<i64, i64> = HashMap::new();
        for (conv, last) in moved {
            let n = self
                .counts
                .iter()
                .find(|(c, _)| *c == conv)
                .map_or(0, |(_, n)| *n);
            next_seq.insert(conv, last - n + 1);
        }

        let mut out: Vec<Appended> = Vec::with_capacity(batch.len());
        let mut rows: NewRows<'m> = Vec::new();
        for (m, fate) in batch.iter().zip(&self.fates) {
            let appended = match *fate {
                Fate::Earlier(conv, seq, at) => Appended {
                    conv: ConvId(conv),
                    seq: Seq(seq),
                    at,
                    outcome: Outcome::Duplicate,
                },
                Fate::SameBatch(first) => Appended {
                    outcome: Outcome::Duplicate,
                    ..out[first]
                },
                Fate::NotMember => Appended {
                    conv: m.conv,
                    seq: Seq(0),
                    at,
                    outcome: Outcome::NotMember,
                },
                Fate::New => {
                    let slot = next_seq
                        .get_mut(&m.conv.0)
                        .ok_or(StoreError::Conflict("conversation vanished mid-commit"))?;
                    let seq = *slot;
                    *slot += 1;
                    rows.push((m, seq));
                    Appended {
                        conv: m.conv,
                        seq: Seq(seq),
                        at,
                        outcome: Outcome::Stored,
                    }
                }
            };
            out.push(appended);
        }
        Ok((out, rows))
    }
}
