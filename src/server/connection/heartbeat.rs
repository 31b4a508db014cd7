//! The server's heartbeat clock for one connection: liveness is the server's job. Any frame
//! from the client counts as life; after an interval of silence the client gets a WebSocket
//! ping (which browsers and WebSocket libraries answer by themselves), and after
//! [`HEARTBEAT_MISSES`] silent intervals in a row the connection is closed.
//!
//! Pure bookkeeping over instants — the reader owns the timer and the socket — so it is tested
//! without either. Depends on the protocol's constant only.

use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::HEARTBEAT_MISSES;

/// What a silent interval means for the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Silence {
    /// The interval has not run out yet (the reader woke for another deadline).
    NotYet,
    /// An interval passed with nothing received: ping the client.
    Ping,
    /// [`HEARTBEAT_MISSES`] intervals in a row passed with nothing received: close.
    Dead,
}

/// When the next ping (or, after the last one, the close) is due, and how many intervals in a
/// row have passed in silence.
#[derive(Clone, Copy, Debug)]
pub struct Heartbeat {
    /// The interval announced in `hello`.
    interval: Duration,
    /// When the current interval of silence runs out.
    due: Instant,
    /// Silent intervals in a row so far.
    missed: u8,
}

impl Heartbeat {
    /// A clock whose first interval starts at `now`.
    pub fn new(interval: Duration, now: Instant) -> Self {
        Self {
            interval,
            due: now + interval,
            missed: 0,
        }
    }

    /// When the current interval runs out.
    pub fn due(&self) -> Instant {
        self.due
    }

    /// Something arrived at `now`: a fresh interval starts, and the misses are forgiven.
    pub fn alive(&mut self, now: Instant) {
        self.due = now + self.interval;
        self.missed = 0;
    }

    /// The reader's wait ran out at `now` with nothing received: what to do about it. A ping
    /// or the close starts the next interval from when this one was due.
    pub fn silent(&mut self, now: Instant) -> Silence {
        if now < self.due {
            return Silence::NotYet;
        }
        self.missed = self.missed.saturating_add(1);
        self.due += self.interval;
        if u32::from(self.missed) < HEARTBEAT_MISSES {
            Silence::Ping
        } else {
            Silence::Dead
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(20);

    #[test]
    fn silence_pings_after_each_interval_and_closes_after_the_last_miss() {
        let start = Instant::now();
        let mut beat = Heartbeat::new(INTERVAL, start);
        assert_eq!(beat.silent(start + INTERVAL / 2), Silence::NotYet);
        let mut pings = 0;
        let mut at = start;
        let silence = loop {
            at += INTERVAL;
            match beat.silent(at) {
                Silence::Ping => pings += 1,
                other => break other,
            }
        };
        assert_eq!(silence, Silence::Dead);
        assert_eq!(pings, HEARTBEAT_MISSES - 1);
        assert_eq!(at, start + INTERVAL * HEARTBEAT_MISSES);
    }

    #[test]
    fn anything_received_restarts_the_interval_and_forgives_the_misses() {
        let start = Instant::now();
        let mut beat = Heartbeat::new(INTERVAL, start);
        assert_eq!(beat.silent(start + INTERVAL), Silence::Ping);
        let pong = start + INTERVAL + Duration::from_secs(1);
        beat.alive(pong);
        assert_eq!(beat.due(), pong + INTERVAL);
        assert_eq!(
            beat.silent(pong + INTERVAL - Duration::from_millis(1)),
            Silence::NotYet
        );
        // A full set of misses again before the close.
        for n in 1..HEARTBEAT_MISSES {
            assert_eq!(beat.silent(pong + INTERVAL * n), Silence::Ping);
        }
        assert_eq!(
            beat.silent(pong + INTERVAL * HEARTBEAT_MISSES),
            Silence::Dead
        );
    }

    #[test]
    fn a_late_wake_up_counts_one_interval_not_all_it_overslept() {
        let start = Instant::now();
        let mut beat = Heartbeat::new(INTERVAL, start);
        assert_eq!(beat.silent(start + INTERVAL * 5), Silence::Ping);
        assert_eq!(beat.due(), start + INTERVAL * 2);
    }
}
