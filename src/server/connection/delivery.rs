//! The writer's gap rules as plain data: per conversation, the last seq this client has, and
//! which conversations it has left; and for every event, live or stored, what the writer must
//! do with it. Each live event at exactly the next seq is **delivered**; one at or below what
//! the client has is a **duplicate** (dropped: it came with the replay); one further ahead
//! means a **gap**, filled from the store before it is sent; one for a conversation the user
//! left is **not theirs** (held back until a rejoin, which continues from the seq it left at).
//!
//! No I/O: `writer.rs` asks, then reads the store and writes the socket. Depends on the
//! protocol's ids only, so every rule is unit tested here without a socket or a store.

use std::collections::HashMap;

use crate::protocol::{ConvId, Seq};

/// What to do with a live event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Live {
    /// The user left the conversation (routed from a member list read before they did): drop.
    NotTheirs,
    /// A conversation this connection was never told about: introduce it first, then ask again.
    Unknown,
    /// The client has it already: drop.
    Duplicate,
    /// Events between what the client has and this one are missing: replay them first.
    Gap,
    /// Exactly the next one: send it as is.
    Next,
}

/// What to do with a stored event (a replay or recent history).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The conversation is not (or no longer) delivered to this client: stop the page here.
    Stop,
    /// The client has it already: skip it.
    Skip,
    /// Send it, then record it.
    Send,
}

/// What a cluster catch-up ("`conv` has events up to `seq`") asks of the writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatchUp {
    /// The client has everything up to `seq`, or the user left: nothing.
    Nothing,
    /// A conversation this connection was never told about: introduce it.
    Introduce,
    /// Replay what the client lacks, up to and including `seq`.
    Replay,
}

/// Per conversation, what this client has.
#[derive(Debug, Default)]
pub struct Cursors {
    /// Per conversation, the last seq this client has.
    delivered: HashMap<ConvId, Seq>,
    /// Conversations this user left or was removed from, with the last seq the client has:
    /// later events are not theirs to see, and a rejoin continues from there without repeats.
    departed: HashMap<ConvId, Seq>,
}

impl Cursors {
    /// The rule for a live event of `conv` at `seq`.
    pub fn live(&self, conv: ConvId, seq: Seq) -> Live {
        if self.departed.contains_key(&conv) {
            return Live::NotTheirs;
        }
        match self.delivered.get(&conv) {
            None => Live::Unknown,
            Some(&have) if seq <= have => Live::Duplicate,
            Some(&have) if seq > have.next() => Live::Gap,
            Some(_) => Live::Next,
        }
    }

    /// The rule for a stored event of `conv` at `seq`.
    pub fn stored(&self, conv: ConvId, seq: Seq) -> Stored {
        match self.delivered.get(&conv) {
            None => Stored::Stop,
            Some(&have) if seq <= have => Stored::Skip,
            Some(_) => Stored::Send,
        }
    }

    /// The rule for a cluster catch-up of `conv` up to `seq`.
    pub fn catch_up(&self, conv: ConvId, seq: Seq) -> CatchUp {
        if self.departed.contains_key(&conv) {
            return CatchUp::Nothing;
        }
        match self.delivered.get(&conv) {
            None => CatchUp::Introduce,
            Some(&have) if have < seq => CatchUp::Replay,
            Some(_) => CatchUp::Nothing,
        }
    }

    /// The next store read of a replay of `conv` up to `until` (exclusive; `None`: to the
    /// newest), at most `page` events: after which seq, and how many. `None` when there is
    /// nothing to read (the conversation is not delivered, or nothing lies before `until`).
    pub fn replay_page(&self, conv: ConvId, until: Option<Seq>, page: u32) -> Option<(Seq, u32)> {
        let after = *self.delivered.get(&conv)?;
        let want = match until {
            Some(until) if until.0 - after.0 - 1 <= 0 => return None,
            Some(until) => (until.0 - after.0 - 1).min(i64::from(page)) as u32,
            None => page,
        };
        Some((after, want))
    }

    /// Whether `conv` is being delivered to this client.
    pub fn is_delivering(&self, conv: ConvId) -> bool {
        self.delivered.contains_key(&conv)
    }

    /// The client now has `conv` up to `seq`.
    pub fn sent(&mut self, conv: ConvId, seq: Seq) {
        self.delivered.insert(conv, seq);
    }

    /// The user's membership of `conv` ended at `seq` (already sent): nothing later is theirs.
    pub fn depart(&mut self, conv: ConvId, seq: Seq) {
        self.delivered.remove(&conv);
        self.departed.insert(conv, seq);
    }

    /// The client was told `conv` is gone: keep what it had, for a rejoin.
    pub fn gone(&mut self, conv: ConvId) {
        if let Some(seq) = self.delivered.remove(&conv) {
            self.departed.insert(conv, seq);
        }
    }

    /// The user is back in `conv`: delivery continues from what the client had when it left.
    /// `false` if it never left (nothing changes).
    pub fn rejoin(&mut self, conv: ConvId) -> bool {
        match self.departed.remove(&conv) {
            Some(seq) => {
                self.delivered.insert(conv, seq);
                true
            }
            None => false,
        }
    }

    /// The client resumed `conv` from `cursor` (clamped to `0..=last`, the newest stored seq);
    /// what this connection already sent it stands if it is further.
    pub fn resume(&mut self, conv: ConvId, cursor: Seq, last: Seq) {
        let cursor = Seq(cursor.0.clamp(0, last.0));
        let have = self.delivered.get(&conv).copied().unwrap_or(cursor);
        self.departed.remove(&conv);
        self.delivered.insert(conv, have.max(cursor));
    }

    /// `conv` is being introduced: deliver it from the start, unless this connection already
    /// delivered some of it (never repeat).
    pub fn introduce(&mut self, conv: ConvId) {
        self.delivered.entry(conv).or_insert(Seq(0));
    }

    /// The introduction of `conv` covered everything up to `last`: anything stored later arrives
    /// live or fills in as a gap.
    pub fn introduced_up_to(&mut self, conv: ConvId, last: Seq) {
        if let Some(have) = self.delivered.get_mut(&conv) {
            *have = (*have).max(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: ConvId = ConvId(7);

    /// A client that has `C` up to `seq`.
    fn at(seq: i64) -> Cursors {
        let mut cursors = Cursors::default();
        cursors.sent(C, Seq(seq));
        cursors
    }

    #[test]
    fn the_next_seq_is_delivered_one_the_client_has_is_a_duplicate_and_one_further_a_gap() {
        let mut cursors = at(4);
        for (seq, rule) in [
            (1, Live::Duplicate),
            (4, Live::Duplicate),
            (5, Live::Next),
            (6, Live::Gap),
        ] {
            assert_eq!(cursors.live(C, Seq(seq)), rule, "live {seq}");
        }
        for (seq, rule) in [(4, Stored::Skip), (5, Stored::Send)] {
            assert_eq!(cursors.stored(C, Seq(seq)), rule, "stored {seq}");
        }
        cursors.sent(C, Seq(5));
        assert_eq!(cursors.live(C, Seq(5)), Live::Duplicate);
        assert_eq!(cursors.live(C, Seq(6)), Live::Next);
    }

    #[test]
    fn a_seq_past_the_next_is_a_gap_filled_up_to_it() {
        let cursors = at(4);
        assert_eq!(cursors.live(C, Seq(9)), Live::Gap);
        // Fill 5..=8, then send 9 itself.
        assert_eq!(
            cursors.replay_page(C, Some(Seq(9)), 1000),
            Some((Seq(4), 4))
        );
        // In pages no larger than asked.
        assert_eq!(cursors.replay_page(C, Some(Seq(9)), 3), Some((Seq(4), 3)));
        // Nothing before the next seq, or before what the client has.
        assert_eq!(cursors.replay_page(C, Some(Seq(5)), 1000), None);
        assert_eq!(cursors.replay_page(C, Some(Seq(2)), 1000), None);
        // Open-ended: a full page at a time.
        assert_eq!(cursors.replay_page(C, None, 1000), Some((Seq(4), 1000)));
    }

    #[test]
    fn an_unknown_conversation_is_introduced_first_from_the_start() {
        let mut cursors = Cursors::default();
        assert_eq!(cursors.live(C, Seq(3)), Live::Unknown);
        assert_eq!(cursors.stored(C, Seq(1)), Stored::Stop);
        assert_eq!(cursors.replay_page(C, None, 10), None);
        cursors.introduce(C);
        assert_eq!(cursors.stored(C, Seq(1)), Stored::Send);
        // Recent history ended at 2; the summary said 3 was stored: 3 is not re-sent live...
        cursors.sent(C, Seq(2));
        cursors.introduced_up_to(C, Seq(3));
        assert_eq!(cursors.live(C, Seq(3)), Live::Duplicate);
        assert_eq!(cursors.live(C, Seq(4)), Live::Next);
        // ...and introducing again never moves the cursor back.
        cursors.introduce(C);
        cursors.introduced_up_to(C, Seq(1));
        assert_eq!(cursors.live(C, Seq(4)), Live::Next);
    }

    #[test]
    fn after_leaving_nothing_is_theirs_until_a_rejoin_continues_where_they_left() {
        let mut cursors = at(4);
        cursors.depart(C, Seq(5));
        assert_eq!(cursors.live(C, Seq(6)), Live::NotTheirs);
        assert_eq!(cursors.stored(C, Seq(6)), Stored::Stop);
        assert_eq!(cursors.catch_up(C, Seq(9)), CatchUp::Nothing);
        assert!(!cursors.is_delivering(C));
        assert!(cursors.rejoin(C));
        assert!(!cursors.rejoin(C), "only once");
        assert_eq!(cursors.live(C, Seq(5)), Live::Duplicate);
        assert_eq!(cursors.live(C, Seq(6)), Live::Next);
    }

    #[test]
    fn gone_keeps_what_the_client_had_and_is_a_no_op_for_an_unknown_conversation() {
        let mut cursors = at(4);
        cursors.gone(C);
        assert_eq!(cursors.live(C, Seq(5)), Live::NotTheirs);
        assert!(cursors.rejoin(C));
        assert_eq!(cursors.live(C, Seq(5)), Live::Next);
        let mut fresh = Cursors::default();
        fresh.gone(C);
        assert_eq!(fresh.live(C, Seq(1)), Live::Unknown);
        assert!(!fresh.rejoin(C));
    }

    #[test]
    fn a_catch_up_replays_only_what_the_client_lacks() {
        let cursors = at(4);
        assert_eq!(cursors.catch_up(C, Seq(4)), CatchUp::Nothing);
        assert_eq!(cursors.catch_up(C, Seq(3)), CatchUp::Nothing);
        assert_eq!(cursors.catch_up(C, Seq(6)), CatchUp::Replay);
        // Up to and including 6: the writer replays until 7.
        assert_eq!(
            cursors.replay_page(C, Some(Seq(6).next()), 1000),
            Some((Seq(4), 2))
        );
        assert_eq!(Cursors::default().catch_up(C, Seq(1)), CatchUp::Introduce);
    }

    #[test]
    fn resume_clamps_the_cursor_keeps_what_was_sent_and_ends_a_departure() {
        let mut cursors = Cursors::default();
        cursors.resume(C, Seq(50), Seq(10));
        assert_eq!(
            cursors.live(C, Seq(11)),
            Live::Next,
            "clamped to the newest"
        );
        let mut cursors = Cursors::default();
        cursors.resume(C, Seq(-3), Seq(10));
        assert_eq!(cursors.live(C, Seq(1)), Live::Next, "clamped to zero");
        // This connection already sent up to 8: a stale cursor does not repeat them.
        let mut cursors = at(8);
        cursors.resume(C, Seq(2), Seq(10));
        assert_eq!(cursors.live(C, Seq(8)), Live::Duplicate);
        // A cursor ahead of what was sent moves it on.
        cursors.resume(C, Seq(9), Seq(10));
        assert_eq!(cursors.live(C, Seq(9)), Live::Duplicate);
        // Resuming a conversation the user had left delivers it again.
        let mut cursors = at(4);
        cursors.depart(C, Seq(4));
        cursors.resume(C, Seq(4), Seq(10));
        assert_eq!(cursors.live(C, Seq(5)), Live::Next);
    }
}
