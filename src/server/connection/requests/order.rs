//! Keeping a connection's own messages in order when the rate limit refuses one.
//!
//! The budget refills while frames are in flight, so without this a client that pipelines
//! sends could see message *k* refused and *k+1*, arriving a moment later, stored; resending
//! *k* would then put it after *k+1*. Instead, once a send is refused for rate, every other
//! send of the connection is refused as well until the refused message is sent again — or
//! until [`GRACE`] past the moment the budget would have taken it, so that a client that gave
//! the message up is not held for ever. A client that follows the documented rule (stop,
//! wait `retry_after_ms`, resend from the refused message on, in order) keeps its order.

use std::time::{Duration, Instant};

use crate::protocol::ClientMsgId;

/// How long past its retry time a refused message holds back the connection's other sends.
pub const GRACE: Duration = Duration::from_secs(2);

/// A connection's hold on its sends; empty until one is refused for rate.
#[derive(Debug, Default)]
pub struct SendHold {
    /// The refused message everything else waits for, if any. Boxed: every connection's task
    /// holds a `SendHold`, and an empty one should cost a pointer, not the whole `Held`.
    held: Option<Box<Held>>,
}

/// One refused message.
#[derive(Debug)]
struct Held {
    /// Its id: sending it again lifts the hold.
    id: ClientMsgId,
    /// When the budget would take one more message.
    retry_at: Instant,
    /// When the hold lapses on its own.
    until: Instant,
}

impl SendHold {
    /// Whether the send of `id` may go on to the budget at `now`; otherwise how long until the
    /// budget would take a message (the held one first).
    pub fn check(&mut self, id: &ClientMsgId, now: Instant) -> Result<(), Duration> {
        match &self.held {
            Some(held) if held.id != *id && now < held.until => {
                Err(held.retry_at.saturating_duration_since(now))
            }
            _ => {
                self.held = None;
                Ok(())
            }
        }
    }

    /// The budget refused `id` at `now`; it would take a message after `wait`.
    pub fn refused(&mut self, id: ClientMsgId, wait: Duration, now: Instant) {
        let retry_at = now + wait;
        self.held = Some(Box::new(Held {
            id,
            retry_at,
            until: retry_at + GRACE,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ClientMsgId {
        ClientMsgId(s.into())
    }

    #[test]
    fn a_refused_message_holds_the_others_until_it_is_sent_again() {
        let mut hold = SendHold::default();
        let now = Instant::now();
        assert_eq!(hold.check(&id("a"), now), Ok(()));
        hold.refused(id("a"), Duration::from_millis(100), now);
        let later = now + Duration::from_millis(500);
        assert_eq!(hold.check(&id("b"), later), Err(Duration::ZERO));
        assert_eq!(
            hold.check(&id("b"), now),
            Err(Duration::from_millis(100)),
            "the wait is the budget's"
        );
        assert_eq!(hold.check(&id("a"), later), Ok(()), "the refused one again");
        assert_eq!(hold.check(&id("b"), later), Ok(()), "and the hold is gone");
    }

    #[test]
    fn a_message_given_up_holds_the_others_only_for_a_while() {
        let mut hold = SendHold::default();
        let now = Instant::now();
        hold.refused(id("a"), Duration::from_millis(100), now);
        let lapsed = now + Duration::from_millis(100) + GRACE;
        assert_eq!(hold.check(&id("b"), lapsed), Ok(()));
    }
}
