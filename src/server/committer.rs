//! Group commit: every message send goes through one task that stores whatever has queued up in
//! one transaction, then acks and fans out.
//!
//! Order of effects for each message: **persist** (the transaction commits, `synchronous=FULL`),
//! then **ack** the sending connection, then **fan out** to every connection of every member.
//! So an ack means durable, and nobody sees a message that could still be lost. Requests are
//! taken in arrival order, so one connection's sends get increasing seqs in the order it sent
//! them. A failed transaction stores nothing and answers every message in it with a typed
//! `unavailable` error naming its `client_msg_id`; the client retries with the same id.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{
    clock::now_ms,
    routing::{Hub, Mailbox, Outgoing},
    store::{NewMessage, Outcome, Store},
    wire::encode,
};
use crate::protocol::{self, ErrorCode, Event, EventBody, FrameType, Req, ServerFrame};

/// The most messages stored in one transaction.
pub const MAX_BATCH: usize = 128;
/// How many sends may wait for the committer; beyond that, senders wait (backpressure).
pub const QUEUE: usize = 8192;
/// A commit slower than this is logged: every message in it waited that long.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(100);

/// A send waiting to be stored.
struct Pending {
    /// The message.
    message: NewMessage,
    /// The sending connection, for the ack.
    reply: Mailbox,
    /// The `send`'s request id, echoed on its ack or error.
    req: Option<Req>,
}

impl Pending {
    /// Queues `frame` for the sender as the answer to this send.
    fn answer(&self, frame: &ServerFrame) {
        let text = protocol::encode_reply(frame, self.req.as_ref());
        self.reply.push(Outgoing::Frame(text.into()));
    }
}

/// The handle readers submit sends through.
#[derive(Clone)]
pub struct Committer {
    /// FIFO into the committer task.
    queue: mpsc::Sender<Pending>,
}

impl Committer {
    /// Starts the committer task.
    pub fn start(store: Store, hub: Arc<Hub>) -> Self {
        let (queue, incoming) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, hub, incoming));
        Self { queue }
    }

    /// Queues a message; the ack (or error), echoing `req`, goes to `reply`. Waits only if the
    /// committer is [`QUEUE`] messages behind.
    pub async fn submit(&self, message: NewMessage, reply: Mailbox, req: Option<Req>) {
        let pending = Pending {
            message,
            reply,
            req,
        };
        if let Err(mpsc::error::SendError(pending)) = self.queue.send(pending).await {
            refuse(&pending, "the server is shutting down; try again");
        }
    }
}

fn refuse(pending: &Pending, why: &str) {
    pending.answer(&ServerFrame::Error {
        code: ErrorCode::Unavailable,
        message: why.to_owned(),
        client_msg_id: Some(pending.message.client_msg_id.clone()),
        refused: Some(FrameType::Send),
        retry_after_ms: None,
    });
}

async fn run(store: Store, hub: Arc<Hub>, mut incoming: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let messages: Vec<&NewMessage> = batch.iter().map(|p| &p.message).collect();
        let at = now_ms();
        let started = std::time::Instant::now();
        let result = store.append_messages(&messages, at).await;
        let took = started.elapsed();
        ::metrics::histogram!(super::metrics::COMMIT_SECONDS).record(took.as_secs_f64());
        ::metrics::histogram!(super::metrics::COMMIT_BATCH).record(batch.len() as f64);
        if took > SLOW_COMMIT {
            tracing::warn!(
                messages = batch.len(),
                took_ms = took.as_millis() as u64,
                "slow group commit"
            );
        }
        match result {
            Ok(stored) => {
                for (pending, appended) in batch.iter().zip(stored) {
                    if appended.outcome == Outcome::NotMember {
                        pending.answer(&ServerFrame::Error {
                            code: ErrorCode::Forbidden,
                            message: format!("you are not in conversation {}", appended.conv),
                            client_msg_id: Some(pending.message.client_msg_id.clone()),
                            refused: Some(FrameType::Send),
                            retry_after_ms: None,
                        });
                        continue;
                    }
                    pending.answer(&ServerFrame::Ack {
                        client_msg_id: pending.message.client_msg_id.clone(),
                        conv: appended.conv,
                        seq: appended.seq,
                    });
                    if appended.outcome == Outcome::Duplicate {
                        continue;
                    }
                    ::metrics::counter!(super::metrics::MESSAGES_ROUTED).increment(1);
                    let text = encode(&ServerFrame::Event(Event {
                        conv: appended.conv,
                        seq: appended.seq,
                        from: pending.message.from,
                        at: appended.at,
                        body: EventBody::Message {
                            client_msg_id: pending.message.client_msg_id.clone(),
                            body: pending.message.body.clone(),
                        },
                    }));
                    match hub.members(appended.conv).await {
                        Ok(members) => hub.publish(appended.conv, appended.seq, &text, &members),
                        // Stored and acked; members' connections will find it when they next
                        // resume or fill a gap.
                        Err(err) => tracing::error!(%err, "cannot load members for fan-out"),
                    }
                }
            }
            Err(err) => {
                tracing::error!(%err, messages = batch.len(), "group commit failed");
                for pending in &batch {
                    refuse(pending, "the message could not be stored; send it again");
                }
            }
        }
        batch.clear();
    }
}
