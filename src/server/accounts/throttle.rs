//! Log-in throttling that slows a guesser without locking the owner out.
//!
//! Three budgets, from narrow to wide:
//!
//! - **per (account, address)**: the first `auth.login_failures_per_pair` failures from one
//!   address on one account cost nothing; each further one locks that pair for twice as long as
//!   the one before (1 s, 2 s, 4 s, … up to `auth.login_backoff_max_secs`), answered `429` with
//!   `Retry-After` without hashing anything. A success from the pair clears it.
//! - **per account**: failures from every address together, `auth.login_failures_per_account`
//!   a minute (a burst of the same size). Once spent, the account is *guarded*: an address that
//!   has already failed on it is refused (`429`) until the budget refills, while an address that
//!   has not failed on it is still tried. So a correct password from a clean address always
//!   gets in, however many other addresses hammer the account; and every attacking address gets
//!   at most one guess on a guarded account until it calms down.
//! - **per address** (in [`super::Accounts`]): every log-in and register attempt,
//!   `auth.login_attempts_per_address` a minute, which also bounds how fast one address can
//!   spread guesses over many accounts or race this table with concurrent attempts.
//!
//! Addresses are keyed by themselves for IPv4 and by their /64 for IPv6, so that one host cannot
//! pose as 2^64 clean addresses. Only usernames of a valid shape are tracked (nothing else can be
//! an account). Memory is bounded whatever an attacker sends: each table holds at most
//! [`MAX_ENTRIES`]; entries that have calmed down are pruned when it fills, and if that is not
//! enough the half that calmed down first is dropped.
//!
//! Locking: one std `Mutex` around both tables, held only for map operations and never across an
//! `.await`.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

/// The most entries each table keeps (a few hundred bytes each at most).
pub const MAX_ENTRIES: usize = 100_000;

/// The first lock of a pair past its free failures; each further failure doubles it.
const FIRST_LOCK: Duration = Duration::from_secs(1);

/// A pair is forgotten this long after its last failure or the end of its lock.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// How the throttle is tuned (from the configuration).
#[derive(Clone, Copy, Debug)]
pub struct ThrottleSettings {
    /// Failures one address may make on one account before each further one locks the pair.
    pub free_per_pair: u32,
    /// Failures per account per minute (and the burst) before the account is guarded.
    pub failures_per_account: u32,
    /// The longest a pair is locked for.
    pub max_lock: Duration,
}

/// Why an attempt is refused before the password is checked: try again after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(pub Duration);

/// The log-in throttle shared by every request.
#[derive(Debug)]
pub struct Throttle {
    /// How it is tuned.
    settings: ThrottleSettings,
    /// The tables; see the module doc for the locking rule.
    tables: Mutex<Tables>,
}

/// What [`Throttle`]'s lock guards.
#[derive(Debug, Default)]
struct Tables {
    /// Failures per (case-folded username, address key).
    pairs: HashMap<(String, IpAddr), Pair>,
    /// Recent failures per case-folded username, all addresses together.
    accounts: HashMap<String, Bucket>,
}

/// One address's failures on one account.
#[derive(Clone, Copy, Debug)]
struct Pair {
    /// Failures since the last success (or since it was forgotten).
    failures: u32,
    /// Refused until then.
    locked_until: Instant,
    /// The latest failure.
    last_failure: Instant,
}

impl Pair {
    /// When this pair has calmed down and may be forgotten.
    fn forget_at(&self) -> Instant {
        self.locked_until.max(self.last_failure) + FORGET_AFTER
    }
}

/// A leaky bucket of failures: `level` drains at the account's rate.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Failures not yet drained, as of `at`.
    level: f64,
    /// When `level` was last brought up to date.
    at: Instant,
}

/// The address a budget is kept for: IPv4 as it is, IPv6 by its /64.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

impl Throttle {
    /// An empty throttle.
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings: ThrottleSettings {
                free_per_pair: settings.free_per_pair,
                failures_per_account: settings.failures_per_account.max(1),
                max_lock: settings.max_lock.max(FIRST_LOCK),
            },
            tables: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // Every operation leaves the maps consistent, so a poisoned lock is still usable.
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Failures drained per second from an account's bucket.
    fn drain_per_sec(&self) -> f64 {
        f64::from(self.settings.failures_per_account) / 60.0
    }

    fn level(&self, bucket: &Bucket, now: Instant) -> f64 {
        let drained = now.saturating_duration_since(bucket.at).as_secs_f64() * self.drain_per_sec();
        (bucket.level - drained).max(0.0)
    }

    /// Whether `account` may be tried from `address` now; `Err` says how long to wait.
    pub fn check(&self, account: &str, address: IpAddr, now: Instant) -> Result<(), Wait> {
        let key = (account.to_owned(), address_key(address));
        let tables = self.lock();
        let Some(pair) = tables.pairs.get(&key).copied() else {
            // A clean address is always tried, whatever the account's budget says.
            return Ok(());
        };
        if pair.locked_until > now {
            return Err(Wait(round_up(pair.locked_until - now)));
        }
        let budget = f64::from(self.settings.failures_per_account);
        if let Some(bucket) = tables.accounts.get(account) {
            let level = self.level(bucket, now);
            if level >= budget {
                let secs = (level - budget + 1.0) / self.drain_per_sec();
                return Err(Wait(round_up(Duration::from_secs_f64(secs))));
            }
        }
        Ok(())
    }

    /// Records a failed log-in on `account` from `address`.
    pub fn failed(&self, account: &str, address: IpAddr, now: Instant) {
        let key = (account.to_owned(), address_key(address));
        let mut tables = self.lock();
        if !tables.accounts.contains_key(account) && tables.accounts.len() >= MAX_ENTRIES {
            self.prune_accounts(&mut tables.accounts, now);
        }
        let level = tables
            .accounts
            .get(account)
            .map_or(0.0, |bucket| self.level(bucket, now));
        tables.accounts.insert(
            account.to_owned(),
            Bucket {
                level: level + 1.0,
                at: now,
            },
        );
        if !tables.pairs.contains_key(&key) && tables.pairs.len() >= MAX_ENTRIES {
            prune_pairs(&mut tables.pairs, now);
        }
        let pair = tables.pairs.entry(key).or_insert(Pair {
            failures: 0,
            locked_until: now,
            last_failure: now,
        });
        pair.failures = pair.failures.saturating_add(1);
        pair.last_failure = now;
        if let Some(over) = pair.failures.checked_sub(self.settings.free_per_pair + 1) {
            let lock = FIRST_LOCK
                .checked_mul(1u32.checked_shl(over).unwrap_or(u32::MAX))
                .unwrap_or(self.settings.max_lock)
                .min(self.settings.max_lock);
            pair.locked_until = now + lock;
        }
    }

    /// Records a successful log-in: the pair starts afresh. The account's failures stay counted
    /// (they were someone's guesses).
    pub fn succeeded(&self, account: &str, address: IpAddr) {
        let key = (account.to_owned(), address_key(address));
        self.lock().pairs.remove(&key);
    }

    /// How many entries the tables hold (pairs, accounts).
    pub fn entries(&self) -> (usize, usize) {
        let tables = self.lock();
        (tables.pairs.len(), tables.accounts.len())
    }

    fn prune_accounts(&self, accounts: &mut HashMap<String, Bucket>, now: Instant) {
        accounts.retain(|_, bucket| self.level(bucket, now) > 0.0);
        if accounts.len() >= MAX_ENTRIES {
            let mut levels: Vec<f64> = accounts.values().map(|b| self.level(b, now)).collect();
            levels.sort_by(f64::total_cmp);
            let median = levels[levels.len() / 2];
            accounts.retain(|_, bucket| self.level(bucket, now) > median);
        }
    }
}

/// Drops the pairs that have calmed down; if the table is still full, the half that calmed down
/// first.
fn prune_pairs(pairs: &mut HashMap<(String, IpAddr), Pair>, now: Instant) {
    pairs.retain(|_, pair| pair.forget_at() > now);
    if pairs.len() >= MAX_ENTRIES {
        let mut times: Vec<Instant> = pairs.values().map(Pair::forget_at).collect();
        times.sort_unstable();
        let median = times[times.len() / 2];
        pairs.retain(|_, pair| pair.forget_at() > median);
    }
}

/// Whole seconds, at least one (what `Retry-After` can say).
fn round_up(wait: Duration) -> Duration {
    Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(FIRST_LOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: ThrottleSettings = ThrottleSettings {
        free_per_pair: 2,
        failures_per_account: 4,
        max_lock: Duration::from_secs(60),
    };

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn a_pair_is_locked_exponentially_longer_after_its_free_failures() {
        let throttle = Throttle::new(ThrottleSettings {
            failures_per_account: 1000,
            ..SETTINGS
        });
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..9 {
            throttle.check("ann", ip(1), now).unwrap();
            throttle.failed("ann", ip(1), now);
            if let Err(Wait(wait)) = throttle.check("ann", ip(1), now) {
                waits.push(wait.as_secs());
                now += wait;
            }
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60]);
        throttle.succeeded("ann", ip(1));
        throttle.failed("ann", ip(1), now);
        assert!(
            throttle.check("ann", ip(1), now).is_ok(),
            "a success resets"
        );
    }

    #[test]
    fn a_guarded_account_still_tries_clean_addresses() {
        let throttle = Throttle::new(SETTINGS);
        let now = Instant::now();
        for n in 1..=6 {
            throttle.check("ann", ip(n), now).unwrap();
            throttle.failed("ann", ip(n), now);
        }
        assert!(throttle.check("ann", ip(1), now).is_err(), "failed before");
        assert!(throttle.check("ann", ip(7), now).is_ok(), "clean");
        assert!(throttle.check("bob", ip(1), now).is_ok(), "another account");
        let later = now + Duration::from_secs(60);
        assert!(throttle.check("ann", ip(1), later).is_ok(), "drained");
    }

    #[test]
    fn ipv6_addresses_share_their_slash_64() {
        let throttle = Throttle::new(ThrottleSettings {
            free_per_pair: 0,
            ..SETTINGS
        });
        let now = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        throttle.failed("ann", a, now);
        assert!(throttle.check("ann", b, now).is_err());
        assert!(throttle.check("ann", c, now).is_ok());
    }

    #[test]
    fn the_tables_stay_bounded_whatever_is_thrown_at_them() {
        let throttle = Throttle::new(SETTINGS);
        let now = Instant::now();
        for n in 0..(MAX_ENTRIES as u32 + 5_000) {
            throttle.failed(&format!("u{n}"), IpAddr::from(n.to_be_bytes()), now);
        }
        let (pairs, accounts) = throttle.entries();
        assert!(
            pairs <= MAX_ENTRIES && accounts <= MAX_ENTRIES,
            "{pairs} {accounts}"
        );
    }
}
