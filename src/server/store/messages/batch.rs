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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientMsgId, UserId};

    fn msg(conv: i64, from: i64, id: &str) -> NewMessage {
        NewMessage {
            conv: ConvId(conv),
            from: UserId(from),
            client_msg_id: ClientMsgId(id.to_owned()),
            body: id.to_owned(),
            reply_to: None,
        }
    }

    fn appended(conv: i64, seq: i64, at: i64, outcome: Outcome) -> Appended {
        Appended {
            conv: ConvId(conv),
            seq: Seq(seq),
            at,
            outcome,
        }
    }

    #[test]
    fn new_messages_take_each_conversations_next_seqs_in_batch_order() {
        let batch = [msg(7, 1, "a"), msg(9, 1, "b"), msg(7, 2, "c")];
        let refs: Vec<&NewMessage> = batch.iter().collect();
        let members = HashSet::from([(7, 1), (9, 1), (7, 2)]);
        let plan = Plan::new(&refs, Vec::new(), &members);
        assert_eq!(plan.counts(), [(7, 2), (9, 1)]);
        // Conversation 7 moved from 10 to 12, 9 from 0 to 1.
        let (out, rows) = plan.settle(&refs, vec![(9, 1), (7, 12)], 50).unwrap();
        let stored = |conv, seq| appended(conv, seq, 50, Outcome::Stored);
        assert_eq!(out, [stored(7, 11), stored(9, 1), stored(7, 12)]);
        let seqs: Vec<(&str, i64)> = rows.iter().map(|(m, s)| (m.body.as_str(), *s)).collect();
        assert_eq!(seqs, [("a", 11), ("b", 1), ("c", 12)]);
    }

    #[test]
    fn retries_answer_the_original_and_non_members_store_nothing() {
        let batch = [
            msg(7, 1, "old"),
            msg(7, 1, "new"),
            msg(7, 1, "new"),
            msg(7, 3, "x"),
        ];
        let refs: Vec<&NewMessage> = batch.iter().collect();
        let earlier = vec![(1, "old".to_owned(), 8, 4, 20)];
        let plan = Plan::new(&refs, earlier, &HashSet::from([(7, 1)]));
        assert_eq!(
            plan.counts(),
            [(7, 1)],
            "only the first copy of `new` is new"
        );
        let (out, rows) = plan.settle(&refs, vec![(7, 5)], 50).unwrap();
        assert_eq!(
            out,
            [
                appended(8, 4, 20, Outcome::Duplicate),
                appended(7, 5, 50, Outcome::Stored),
                appended(7, 5, 50, Outcome::Duplicate),
                appended(7, 0, 50, Outcome::NotMember),
            ]
        );
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn nothing_new_moves_no_counter_and_a_vanished_conversation_fails_the_batch() {
        let batch = [msg(7, 3, "x")];
        let refs: Vec<&NewMessage> = batch.iter().collect();
        let plan = Plan::new(&refs, Vec::new(), &HashSet::new());
        assert!(plan.counts().is_empty());
        let (out, rows) = plan.settle(&refs, Vec::new(), 1).unwrap();
        assert_eq!((out[0].outcome, rows.len()), (Outcome::NotMember, 0));

        let batch = [msg(7, 1, "a")];
        let refs: Vec<&NewMessage> = batch.iter().collect();
        let plan = Plan::new(&refs, Vec::new(), &HashSet::from([(7, 1)]));
        let vanished = plan.settle(&refs, Vec::new(), 1);
        assert!(matches!(vanished, Err(StoreError::Conflict(_))));
    }
}
