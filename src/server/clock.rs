//! The server's one wall clock: Unix time, in milliseconds for events and bus envelopes, in
//! seconds for sessions and tokens.
//!
//! Depends on nothing in the crate, so every layer may use it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in milliseconds (0 if the system clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Unix time in whole seconds, read from the same clock as [`now_ms`].
pub fn now_secs() -> i64 {
    now_ms().div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_read_one_clock() {
        let (ms, secs) = (now_ms(), now_secs());
        assert!(
            secs * 1000 <= now_ms() && ms / 1000 <= secs,
            "{ms} ms vs {secs} s"
        );
    }
}
