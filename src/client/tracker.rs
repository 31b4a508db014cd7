//! What a client has received, per conversation: the last seq (its `resume` cursors) and the
//! rule that tells a new event from a duplicate or one after a gap. Plain data, no I/O.

use std::collections::HashMap;

use crate::protocol::{ConvId, Cursor, Epoch, Seq, cursors_survive};

/// The verdict on one received event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    /// The next one (or the first seen of its conversation): keep it.
    New,
    /// At or below the last seq held: already had, drop it.
    Duplicate,
    /// New, but `missed` seqs between the last one held and it never came.
    AfterGap {
        /// How many seqs are missing.
        missed: u64,
    },
}

/// Last seq per conversation, and the store epoch those seqs belong to.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    last: HashMap<ConvId, Seq>,
    epoch: Option<Epoch>,
}

impl Tracker {
    /// Nothing received yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A hello announced `epoch`: keeps the cursors if they come from it, else drops them all
    /// (seqs of another epoch say nothing about this one). Returns whether they were kept.
    pub fn hello(&mut self, epoch: &Epoch) -> bool {
        let kept = cursors_survive(self.epoch.as_ref(), epoch);
        if !kept {
            self.last.clear();
        }
        self.epoch = Some(epoch.clone());
        kept
    }

    /// The epoch of the last hello, if any.
    pub fn epoch(&self) -> Option<&Epoch> {
        self.epoch.as_ref()
    }

    /// Records an event at `seq` of `conv`. The first event seen of a conversation the tracker
    /// holds nothing of is its baseline (a conversation announced with only its recent page
    /// starts wherever that page does).
    pub fn take(&mut self, conv: ConvId, seq: Seq) -> Take {
        let last = self.last.entry(conv).or_insert(Seq(seq.0 - 1));
        if seq <= *last {
            return Take::Duplicate;
        }
        let missed = (seq.0 - last.0 - 1) as u64;
        *last = seq;
        if missed == 0 {
            Take::New
        } else {
            Take::AfterGap { missed }
        }
    }

    /// Holds `conv` from `seq` on, as if everything up to it was received (a cursor carried
    /// over from elsewhere).
    pub fn set(&mut self, conv: ConvId, seq: Seq) {
        self.last.insert(conv, seq);
    }

    /// The last seq held of `conv`.
    pub fn last(&self, conv: ConvId) -> Option<Seq> {
        self.last.get(&conv).copied()
    }

    /// Forgets `conv` (the user left it: no more events come for it).
    pub fn forget(&mut self, conv: ConvId) {
        self.last.remove(&conv);
    }

    /// The `resume` cursors: the last seq of every conversation held, in conversation order.
    pub fn cursors(&self) -> Vec<Cursor> {
        let mut cursors: Vec<Cursor> = self
            .last
            .iter()
            .map(|(&conv, &seq)| Cursor { conv, seq })
            .collect();
        cursors.sort_by_key(|c| c.conv);
        cursors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: ConvId = ConvId(7);

    #[test]
    fn the_first_event_of_a_conversation_is_its_baseline() {
        let mut tracker = Tracker::new();
        assert_eq!(tracker.take(C, Seq(40)), Take::New);
        assert_eq!(tracker.take(C, Seq(41)), Take::New);
        assert_eq!(tracker.last(C), Some(Seq(41)));
    }

    #[test]
    fn a_seq_at_or_below_the_last_is_a_duplicate_and_changes_nothing() {
        let mut tracker = Tracker::new();
        let verdicts: Vec<Take> = [1, 2, 2, 1].map(|s| tracker.take(C, Seq(s))).into();
        assert_eq!(
            verdicts,
            [Take::New, Take::New, Take::Duplicate, Take::Duplicate]
        );
        assert_eq!(tracker.last(C), Some(Seq(2)));
    }

    #[test]
    fn a_jump_counts_the_missing_seqs() {
        let mut tracker = Tracker::new();
        tracker.set(C, Seq(3));
        assert_eq!(tracker.take(C, Seq(7)), Take::AfterGap { missed: 3 });
        assert_eq!(tracker.take(C, Seq(8)), Take::New);
    }

    #[test]
    fn cursors_list_every_conversation_in_order() {
        let mut tracker = Tracker::new();
        tracker.take(ConvId(9), Seq(2));
        tracker.take(ConvId(3), Seq(5));
        let held: Vec<(i64, i64)> = tracker
            .cursors()
            .iter()
            .map(|c| (c.conv.0, c.seq.0))
            .collect();
        assert_eq!(held, [(3, 5), (9, 2)]);
        tracker.forget(ConvId(3));
        assert_eq!(tracker.cursors().len(), 1);
    }

    #[test]
    fn another_epoch_drops_the_cursors_the_same_one_keeps_them() {
        let mut tracker = Tracker::new();
        assert!(tracker.hello(&Epoch("a".into())), "nothing held yet");
        tracker.take(C, Seq(5));
        assert!(tracker.hello(&Epoch("a".into())));
        assert_eq!(tracker.last(C), Some(Seq(5)));
        assert!(!tracker.hello(&Epoch("b".into())));
        assert_eq!(tracker.last(C), None);
        assert_eq!(tracker.epoch(), Some(&Epoch("b".into())));
        // After the drop, the conversation starts again wherever the new epoch's replay does.
        assert_eq!(tracker.take(C, Seq(1)), Take::New);
    }
}
