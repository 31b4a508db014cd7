//! Messages sent but not yet acknowledged, keyed by `client_msg_id`. A reconnecting client
//! sends every one of them again with the same id; the server stores a retried id once, so
//! nothing is lost and nothing doubled. Plain data, no I/O.

use crate::protocol::{ClientFrame, ClientMsgId, ConvId, ErrorCode, Seq};

/// One message waiting for its ack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Its id (the key).
    pub id: ClientMsgId,
    /// Where it goes.
    pub conv: ConvId,
    /// The text.
    pub body: String,
}

impl Pending {
    /// The `send` frame that posts it.
    pub fn frame(&self) -> ClientFrame {
        ClientFrame::Send {
            client_msg_id: self.id.clone(),
            conv: self.conv,
            body: self.body.clone(),
            reply_to: None,
        }
    }
}

/// Unacknowledged messages, oldest first (resent in the order they were first sent).
#[derive(Clone, Debug)]
pub struct Outbox {
    pending: Vec<Pending>,
    prefix: String,
    next: u64,
}

impl Outbox {
    /// An empty outbox whose generated ids are `<prefix>-<n>`. The prefix must make them unique
    /// for the sender across runs (a random or time-based one), or the server takes a new
    /// message for a retry of an old one.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            pending: Vec::new(),
            prefix: prefix.into(),
            next: 0,
        }
    }

    /// Queues a message under a fresh id; returns it.
    pub fn push(&mut self, conv: ConvId, body: impl Into<String>) -> ClientMsgId {
        self.next += 1;
        let id = ClientMsgId(format!("{}-{}", self.prefix, self.next));
        self.push_with_id(id.clone(), conv, body);
        id
    }

    /// Queues a message under an id the caller chose. An id already waiting is replaced.
    pub fn push_with_id(&mut self, id: ClientMsgId, conv: ConvId, body: impl Into<String>) {
        self.pending.retain(|p| p.id != id);
        self.pending.push(Pending {
            id,
            conv,
            body: body.into(),
        });
    }

    /// An ack for `id` arrived: the message is durable at `seq`. Returns it if it was waiting
    /// (an ack for an unknown id, e.g. one acked before a reconnect, is `None`).
    pub fn ack(&mut self, id: &ClientMsgId, _seq: Seq) -> Option<Pending> {
        let at = self.pending.iter().position(|p| &p.id == id)?;
        Some(self.pending.remove(at))
    }

    /// The server refused `id` with `code`. A refusal that a retry may cure (`unavailable`,
    /// `rate_limited`) keeps it queued and returns `None`; any other removes and returns it:
    /// sending it again would be refused again.
    pub fn refused(&mut self, id: &ClientMsgId, code: ErrorCode) -> Option<Pending> {
        if Self::retryable(code) {
            return None;
        }
        let at = self.pending.iter().position(|p| &p.id == id)?;
        Some(self.pending.remove(at))
    }

    /// Whether a refusal with `code` leaves the message worth sending again.
    pub fn retryable(code: ErrorCode) -> bool {
        matches!(code, ErrorCode::Unavailable | ErrorCode::RateLimited)
    }

    /// The `send` frames of every waiting message, oldest first: what to send after `resume`.
    pub fn frames(&self) -> Vec<ClientFrame> {
        self.pending.iter().map(Pending::frame).collect()
    }

    /// The waiting messages, oldest first.
    pub fn pending(&self) -> &[Pending] {
        &self.pending
    }

    /// How many are waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: ConvId = ConvId(1);

    fn ids(outbox: &Outbox) -> Vec<String> {
        outbox.pending().iter().map(|p| p.id.0.clone()).collect()
    }

    #[test]
    fn ids_are_fresh_and_resent_oldest_first() {
        let mut outbox = Outbox::new("t");
        let a = outbox.push(C, "one");
        let b = outbox.push(C, "two");
        assert_ne!(a, b);
        assert!(a.is_valid() && b.is_valid());
        assert_eq!(
            outbox.frames(),
            [
                ClientFrame::Send {
                    client_msg_id: a,
                    conv: C,
                    body: "one".into(),
                    reply_to: None,
                },
                ClientFrame::Send {
                    client_msg_id: b,
                    conv: C,
                    body: "two".into(),
                    reply_to: None,
                }
            ]
        );
    }

    #[test]
    fn an_ack_removes_exactly_its_message() {
        let mut outbox = Outbox::new("t");
        let a = outbox.push(C, "one");
        let b = outbox.push(C, "two");
        assert_eq!(outbox.ack(&b, Seq(4)).map(|p| p.body), Some("two".into()));
        assert_eq!(outbox.ack(&b, Seq(4)), None, "acked twice (a resend's ack)");
        assert_eq!(ids(&outbox), [a.0]);
    }

    #[test]
    fn a_retryable_refusal_keeps_the_message_others_drop_it() {
        let mut outbox = Outbox::new("t");
        let a = outbox.push(C, "one");
        let b = outbox.push(C, "two");
        assert_eq!(outbox.refused(&a, ErrorCode::Unavailable), None);
        assert_eq!(outbox.refused(&a, ErrorCode::RateLimited), None);
        assert_eq!(outbox.len(), 2);
        assert_eq!(
            outbox.refused(&b, ErrorCode::Forbidden).map(|p| p.id),
            Some(b)
        );
        assert_eq!(ids(&outbox), [a.0]);
    }

    #[test]
    fn a_chosen_id_queued_again_is_not_doubled() {
        let mut outbox = Outbox::new("t");
        let id = ClientMsgId("mine".into());
        outbox.push_with_id(id.clone(), C, "first");
        outbox.push_with_id(id.clone(), C, "again");
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox.pending()[0].body, "again");
        assert!(!outbox.is_empty());
    }
}
