//! Per-user budgets for frames, shared by all of a user's connections on this node.
//!
//! Each budget is a GCRA bucket (governor) keyed by user, so a user's devices draw on one
//! budget and one user's flood never delays another's frames. Everything that changes state
//! or costs the store a query has a budget:
//!
//! | budget   | frames                                                            | rate (burst)        |
//! |----------|-------------------------------------------------------------------|---------------------|
//! | messages | `send`                                                            | n/s (n)             |
//! | changes  | `create_room` `join_room` `leave` `invite` `remove` `rename_room` `open_direct` `accept` `decline` `block` `unblock` `notify` `do_not_disturb` | n/min (n/4) |
//! | reads    | `resume` `history` `members` `list_rooms`, by cost                | n/s (2n)            |
//! | marks    | `read`                                                            | n/s (2n)            |
//! | actions  | `edit` `delete` `react` `unreact`                                 | n/s (2n)            |
//! | typing   | `typing`, per user and conversation                               | 1/s (3)             |
//! | searches | `search`                                                          | n/min (n/6)         |
//! | profiles | `set_profile` (one event in every conversation of the user)       | 10/hour (3)         |
//!
//! A bucket is checked before the frame does any store work; a refused frame does nothing.
//! The tables hold one entry per recently active key and are pruned of idle keys once they
//! pass [`MAX_KEYS`] (at most once per [`PRUNE_EVERY`], so a node with many active users does
//! not scan its tables on every frame): many users or conversations cannot grow them without
//! bound.

use std::{
    hash::Hash,
    num::NonZeroU32,
    sync::{Mutex, TryLockError},
    time::{Duration, Instant},
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};

use crate::{
    protocol::{ConvId, UserId},
    server::config::Config,
};

/// A table this big is pruned of keys whose bucket is full again (idle users).
const MAX_KEYS: usize = 10_000;

/// The shortest time between two prunings of the tables.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// Display-name changes a user may make an hour, and in a burst: each one writes an event into
/// every conversation they are in, so it is the costliest frame there is.
const PROFILE_CHANGES_PER_HOUR: u32 = 10;
const PROFILE_BURST: u32 = 3;

/// How many items of an answer one cell of the read budget pays for.
const ITEMS_PER_CELL: u32 = 50;

/// Per-user rate limits shared by all connections.
pub struct Limits {
    /// Messages per user (all devices together).
    messages: DefaultKeyedRateLimiter<UserId>,
    /// Typing notices per user and conversation.
    typing: DefaultKeyedRateLimiter<(UserId, ConvId)>,
    /// Membership and room changes per user: each one is stored and fanned out to a room.
    changes: DefaultKeyedRateLimiter<UserId>,
    /// The cost budget of reads per user: a read costs more the bigger its answer may be.
    reads: DefaultKeyedRateLimiter<UserId>,
    /// The reads budget's burst: no single read may cost more, or it could never pass.
    read_burst: NonZeroU32,
    /// Read-position updates per user: each one is a store write and a fan-out to devices.
    marks: DefaultKeyedRateLimiter<UserId>,
    /// Edits, deletions and reactions per user: each one is stored and fanned out.
    actions: DefaultKeyedRateLimiter<UserId>,
    /// Searches per user: each one is a full-text query over every conversation they are in.
    searches: DefaultKeyedRateLimiter<UserId>,
    /// Display-name changes per user: each one is an event in every conversation of theirs.
    profiles: DefaultKeyedRateLimiter<UserId>,
    /// When the tables were last pruned. A std mutex, only ever `try_lock`ed and never held
    /// across an `.await`: a frame that finds it taken skips pruning instead of waiting.
    pruned: Mutex<Instant>,
    /// The longest message body, in characters.
    pub max_body_chars: usize,
    /// How long after sending a message its sender may edit it.
    pub edit_window: Duration,
}

/// `n`, or 1 if it is 0 (the config already refuses 0; this keeps the type honest).
fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// What a budget answers: `Ok` when the frame may go, else how long until it would.
pub type Admission = Result<(), Duration>;

/// Takes `n` cells from `key`'s bucket in `table` if they are there; otherwise says how long
/// until they will be (governor knows the earliest moment the bucket holds `n`).
fn take<K: Clone + Eq + Hash>(
    table: &DefaultKeyedRateLimiter<K>,
    key: &K,
    n: NonZeroU32,
) -> Admission {
    match table.check_key_n(key, n) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(not_until)) => Err(not_until.wait_time_from(table.clock().now())),
        // Costs are capped at the burst, so this cannot happen; a second is a safe answer.
        Err(_insufficient) => Err(Duration::from_secs(1)),
    }
}

/// Forgets `table`'s idle keys (full buckets) if it has grown past [`MAX_KEYS`].
fn prune<K: Clone + Eq + Hash>(table: &DefaultKeyedRateLimiter<K>) {
    if table.len() > MAX_KEYS {
        table.retain_recent();
    }
}

impl Limits {
    /// The budgets `config` names: `limits.messages_per_second` (burst of the same size),
    /// `limits.changes_per_minute` (burst of a quarter), `limits.reads_per_second` and
    /// `limits.marks_per_second` and `limits.actions_per_second` (bursts of twice the rate),
    /// `limits.searches_per_minute` (burst of a sixth); typing notices at one a second per user
    /// and conversation in bursts of up to three.
    pub fn new(config: &Config) -> Self {
        let changes = at_least_one(config.changes_per_minute);
        let reads = at_least_one(config.reads_per_second);
        let marks = at_least_one(config.marks_per_second);
        let actions = at_least_one(config.actions_per_second);
        let searches = at_least_one(config.searches_per_minute);
        let read_burst = at_least_one(reads.get().saturating_mul(2));
        Self {
            messages: RateLimiter::keyed(Quota::per_second(at_least_one(
                config.messages_per_second,
            ))),
            typing: RateLimiter::keyed(
                Quota::per_second(NonZeroU32::MIN).allow_burst(at_least_one(3)),
            ),
            changes: RateLimiter::keyed(
                Quota::per_minute(changes).allow_burst(at_least_one(changes.get() / 4)),
            ),
            reads: RateLimiter::keyed(Quota::per_second(reads).allow_burst(read_burst)),
            read_burst,
            marks: RateLimiter::keyed(
                Quota::per_second(marks).allow_burst(at_least_one(marks.get().saturating_mul(2))),
            ),
            actions: RateLimiter::keyed(
                Quota::per_second(actions)
                    .allow_burst(at_least_one(actions.get().saturating_mul(2))),
            ),
            searches: RateLimiter::keyed(
                Quota::per_minute(searches).allow_burst(at_least_one(searches.get() / 6)),
            ),
            profiles: RateLimiter::keyed(
                Quota::with_period(Duration::from_secs(3600) / PROFILE_CHANGES_PER_HOUR)
                    .unwrap_or_else(|| Quota::per_hour(NonZeroU32::MIN))
                    .allow_burst(at_least_one(PROFILE_BURST)),
            ),
            pruned: Mutex::new(Instant::now()),
            max_body_chars: config.max_body_chars,
            edit_window: config.edit_window,
        }
    }

    /// Prunes every table that has grown too big, unless that was done less than
    /// [`PRUNE_EVERY`] ago or another frame is doing it now.
    fn tidy(&self) {
        let mut last = match self.pruned.try_lock() {
            Ok(last) => last,
            // A panic elsewhere mid-prune leaves nothing half-done worth refusing over.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if last.elapsed() < PRUNE_EVERY {
            return;
        }
        *last = Instant::now();
        prune(&self.messages);
        prune(&self.typing);
        prune(&self.changes);
        prune(&self.reads);
        prune(&self.marks);
        prune(&self.actions);
        prune(&self.searches);
        prune(&self.profiles);
    }

    /// Whether `user` may change their display name now.
    pub fn profile(&self, user: UserId) -> Admission {
        self.tidy();
        take(&self.profiles, &user, NonZeroU32::MIN)
    }

    /// Whether `user` may send one more message now (else how long until they may).
    pub fn message(&self, user: UserId) -> Admission {
        self.tidy();
        take(&self.messages, &user, NonZeroU32::MIN)
    }

    /// Whether `user` may send one more typing notice in `conv` now.
    pub fn typing(&self, user: UserId, conv: ConvId) -> Admission {
        self.tidy();
        take(&self.typing, &(user, conv), NonZeroU32::MIN)
    }

    /// Whether `user` may make one more membership or room change now.
    pub fn change(&self, user: UserId) -> Admission {
        self.tidy();
        take(&self.changes, &user, NonZeroU32::MIN)
    }

    /// Whether `user` may make a read whose answer holds up to `items` entries (cursors,
    /// events, rooms): one cell, plus one per `ITEMS_PER_CELL` (50) entries, at most the burst.
    pub fn read(&self, user: UserId, items: usize) -> Admission {
        self.tidy();
        take(&self.reads, &user, self.read_cost(items))
    }

    /// What a read answering up to `items` entries costs.
    fn read_cost(&self, items: usize) -> NonZeroU32 {
        let extra = u32::try_from(items).unwrap_or(u32::MAX) / ITEMS_PER_CELL;
        NonZeroU32::MIN.saturating_add(extra).min(self.read_burst)
    }

    /// Whether `user` may move one more read position now.
    pub fn mark(&self, user: UserId) -> Admission {
        self.tidy();
        take(&self.marks, &user, NonZeroU32::MIN)
    }

    /// Whether `user` may make one more edit, deletion or reaction change now.
    pub fn action(&self, user: UserId) -> Admission {
        self.tidy();
        take(&self.actions, &user, NonZeroU32::MIN)
    }

    /// Whether `user` may search once more now.
    pub fn search(&self, user: UserId) -> Admission {
        self.tidy();
        take(&self.searches, &user, NonZeroU32::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(tweak: impl FnOnce(&mut Config)) -> Limits {
        let mut config = Config::default();
        tweak(&mut config);
        Limits::new(&config)
    }

    #[test]
    fn the_default_change_budget_is_a_burst_of_thirty_per_user() {
        let limits = limits(|_| {});
        let (a, b) = (UserId(1), UserId(2));
        assert_eq!((0..40).filter(|_| limits.change(a).is_ok()).count(), 30);
        assert!(
            limits.change(b).is_ok(),
            "another user has a budget of their own"
        );
    }

    #[test]
    fn a_read_costs_more_the_bigger_its_answer_and_never_more_than_the_burst() {
        let limits = limits(|c| c.reads_per_second = 20);
        assert_eq!(limits.read_cost(0).get(), 1);
        assert_eq!(limits.read_cost(49).get(), 1);
        assert_eq!(limits.read_cost(100).get(), 3);
        assert_eq!(limits.read_cost(1_000_000).get(), 40);
        let user = UserId(1);
        assert!(
            limits.read(user, 1_000_000).is_ok(),
            "a full bucket pays for the costliest read"
        );
        assert!(limits.read(user, 0).is_err(), "and is then empty");
    }

    #[test]
    fn a_refusal_says_how_long_until_the_budget_admits_one_more() {
        // Two a second: a spent bucket has its next cell in at most half a second.
        let limits = limits(|c| c.messages_per_second = 2);
        let user = UserId(1);
        assert!(limits.message(user).is_ok() && limits.message(user).is_ok());
        let wait = limits.message(user).expect_err("the burst of two is spent");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        std::thread::sleep(wait);
        assert!(
            limits.message(user).is_ok(),
            "admitted once the wait is over"
        );
    }

    #[test]
    fn marks_have_a_burst_of_twice_the_rate() {
        let limits = limits(|c| c.marks_per_second = 5);
        assert_eq!(
            (0..20).filter(|_| limits.mark(UserId(1)).is_ok()).count(),
            10
        );
    }

    #[test]
    fn a_table_past_its_bound_is_pruned_of_idle_keys() {
        let limits = limits(|c| c.marks_per_second = 1_000_000);
        // A million a second refills a used bucket within microseconds: every key goes idle.
        for n in 0..(MAX_KEYS as i64 + 100) {
            assert!(limits.mark(UserId(n)).is_ok());
        }
        assert!(limits.marks.len() > MAX_KEYS);
        std::thread::sleep(Duration::from_millis(5));
        *limits.pruned.lock().expect("not poisoned") = Instant::now() - PRUNE_EVERY;
        assert!(limits.mark(UserId(-1)).is_ok());
        assert!(limits.marks.len() < 10, "{} keys left", limits.marks.len());
    }
}
