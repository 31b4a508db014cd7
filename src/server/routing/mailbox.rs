//! One connection's end of routing: what can be queued for it ([`Outgoing`]) and the sending
//! side of its queue ([`Mailbox`]), with the eviction rule for a connection that cannot keep up.
//!
//! Depends on the queue and the protocol types only; it knows nothing of tables or peers.

use axum::extract::ws::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use super::queue;
use crate::protocol::{ConvId, Cursor, Req, Seq, UserId};

/// A connection's number, unique in this process.
pub type ConnId = u64;

/// What goes into a connection's outgoing queue.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded frame that must arrive (answers, acks, errors).
    Frame(Utf8Bytes),
    /// An encoded frame that may be lost (typing, presence).
    Ephemeral(Utf8Bytes),
    /// An encoded event at `seq` of `conv`; the writer delivers it in seq order, filling gaps
    /// from the store and dropping what the client already has.
    Event {
        /// Its conversation.
        conv: ConvId,
        /// Its seq.
        seq: Seq,
        /// The encoded `event` frame, shared by every recipient.
        text: Utf8Bytes,
        /// The user whose membership this event ends (left or removed), so that user's writers
        /// deliver nothing later of this conversation even if routed from an older member list.
        departs: Option<UserId>,
    },
    /// Replay what the client lacks (its cursors), announce what it does not know, tell it
    /// its read positions, then `synced` (echoing the `resume`'s `req`).
    Resume(Vec<Cursor>, Option<Req>),
    /// A WebSocket ping: the reader heard nothing for a heartbeat interval.
    Ping,
    /// `conv` has events up to `seq` that may not have been routed here (cluster catch-up):
    /// deliver whatever the client lacks up to there, from the store.
    Upto(ConvId, Seq),
    /// The user joined or was added to a conversation: announce it with recent history.
    Added(ConvId),
    /// The user left or was removed: say so and forget the conversation.
    Gone(ConvId),
    /// Close the socket after everything queued before.
    Close(u16, &'static str),
}

/// What every queued item costs besides its bytes: the slot itself and bookkeeping.
const ITEM_OVERHEAD: usize = 64;

impl queue::Cost for Outgoing {
    fn cost(&self) -> usize {
        ITEM_OVERHEAD
            + match self {
                Self::Frame(text) | Self::Ephemeral(text) | Self::Event { text, .. } => text.len(),
                Self::Resume(cursors, _) => cursors.len() * std::mem::size_of::<Cursor>(),
                Self::Upto(..) | Self::Added(_) | Self::Gone(_) | Self::Close(..) | Self::Ping => 0,
            }
    }
}

/// The sending side of one connection's queue.
#[derive(Clone, Debug)]
pub struct Mailbox {
    /// Whose connection it is.
    pub user: UserId,
    /// The bounded queue the connection's writer drains.
    pub queue: queue::Sender<Outgoing>,
    /// Cancelled to close the connection at once with "too slow".
    pub evict: CancellationToken,
}

impl Mailbox {
    /// Queues `item`; a connection over its byte budget, or whose oldest queued frame has
    /// waited too long, is evicted. `false` if it was not queued.
    pub fn push(&self, item: Outgoing) -> bool {
        let why = match self.queue.try_send(item) {
            Ok(()) => return true,
            Err(queue::TrySendError::Closed(_)) => return false,
            Err(queue::TrySendError::Full(_)) => "outgoing queue over its byte budget",
            Err(queue::TrySendError::Stale(_)) => "oldest queued frame waited too long",
        };
        self.evict_because(why);
        false
    }

    fn evict_because(&self, why: &'static str) {
        evict(&self.evict, self.user, why);
    }

    /// Queues an ephemeral frame, or drops it if the queue is full; a stuck connection is
    /// evicted all the same.
    pub fn push_ephemeral(&self, text: Utf8Bytes) {
        if let Err(queue::TrySendError::Stale(_)) = self.queue.try_send(Outgoing::Ephemeral(text)) {
            self.evict_because("oldest queued frame waited too long");
        }
    }
}

/// Evicts `user`'s connection behind `token` (counted and logged once, however many notice).
pub fn evict(token: &CancellationToken, user: UserId, why: &'static str) {
    if !token.is_cancelled() {
        ::metrics::counter!(crate::server::metrics::EVICTIONS).increment(1);
        tracing::info!(user = %user, why, "client cannot keep up; evicting connection");
    }
    token.cancel();
}

/// Mailboxes for unit tests, and what was queued in them in a form easy to compare.
#[cfg(test)]
pub(super) mod testing {
    use super::*;

    /// A mailbox of `user` with a roomy budget, and its receiving side.
    pub fn mailbox(user: i64) -> (Mailbox, queue::Receiver<Outgoing>) {
        let budget = queue::Budget {
            bytes: 1 << 20,
            wait: std::time::Duration::from_secs(60),
        };
        let (queue, rx) = queue::channel(budget);
        let user = UserId(user);
        let evict = CancellationToken::new();
        (Mailbox { user, queue, evict }, rx)
    }

    /// Everything queued in `rx` so far, one short line each.
    pub async fn drain(rx: &mut queue::Receiver<Outgoing>) -> Vec<String> {
        let mut got = Vec::new();
        while !rx.is_empty() {
            got.push(match rx.recv().await.expect("queued") {
                Outgoing::Frame(text) => format!("frame {text}"),
                Outgoing::Ephemeral(text) => format!("ephemeral {text}"),
                Outgoing::Event {
                    conv,
                    seq,
                    text,
                    departs,
                } => format!("event {conv}@{seq} {text} departs {departs:?}"),
                Outgoing::Resume(cursors, _) => format!("resume {}", cursors.len()),
                Outgoing::Upto(conv, seq) => format!("upto {conv}@{seq}"),
                Outgoing::Added(conv) => format!("added {conv}"),
                Outgoing::Gone(conv) => format!("gone {conv}"),
                Outgoing::Ping | Outgoing::Close(..) => "other".to_owned(),
            });
        }
        got
    }
}
