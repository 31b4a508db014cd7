//! Group commit: every message send goes through one task that stores whatever has queued up in
//! one transaction, then acks and fans out.
//!
//! Order of effects for each message: **persist** (the transaction commits, `synchronous=FULL`),
//! then **ack** the sending connection, then **fan out** to every connection of every member.
//! So an ack means durable, and nobody sees a message that could still be lost. Requests are
//! taken in arrival order, so one connection's sends get increasing seqs in the order it sent
//! them. A failed transaction stores nothing and answers every message in it with a typed
//! `unavailable` error naming its `client_msg_id`; the client retries with the same id.
//!
//! The task is started through the shutdown tracker: once shutdown begins it takes no new
//! sends (they are refused as `unavailable`, and the client sends them again after
//! reconnecting), commits what was already queued, and ends.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{
    clock::now_ms,
    routing::{Hub, Mailbox, Origin, Outgoing},
    shutdown::Shutdown,
    store::{Appended, NewMessage, Outcome, Store},
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
    /// Starts the committer task through `shutdown`.
    pub fn start(store: Store, hub: Arc<Hub>, shutdown: &Shutdown) -> Self {
        let (queue, incoming) = mpsc::channel(QUEUE);
        shutdown.spawn(run(store, hub, incoming, shutdown.clone()));
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

/// The `unavailable` answer to a send that was not stored.
fn unavailable(message: &NewMessage, why: &str) -> ServerFrame {
    ServerFrame::Error {
        code: ErrorCode::Unavailable,
        message: why.to_owned(),
        client_msg_id: Some(message.client_msg_id.clone()),
        refused: Some(FrameType::Send),
        retry_after_ms: None,
    }
}

fn refuse(pending: &Pending, why: &str) {
    pending.answer(&unavailable(&pending.message, why));
}

/// What a committed batch owes one of its messages: the sender's answer, and the event to fan
/// out if it is new.
#[derive(Debug, PartialEq)]
struct Verdict {
    /// The ack, or the refusal.
    answer: ServerFrame,
    /// The event every member receives (none for a duplicate or a refusal).
    event: Option<Event>,
}

/// The verdict on `message`, which the store appended as `appended`.
fn verdict(message: &NewMessage, appended: &Appended) -> Verdict {
    if appended.outcome == Outcome::NotMember {
        let answer = ServerFrame::Error {
            code: ErrorCode::Forbidden,
            message: format!("you are not in conversation {}", appended.conv),
            client_msg_id: Some(message.client_msg_id.clone()),
            refused: Some(FrameType::Send),
            retry_after_ms: None,
        };
        return Verdict {
            answer,
            event: None,
        };
    }
    let answer = ServerFrame::Ack {
        client_msg_id: message.client_msg_id.clone(),
        conv: appended.conv,
        seq: appended.seq,
    };
    let event = (appended.outcome == Outcome::Stored).then(|| Event {
        conv: appended.conv,
        seq: appended.seq,
        from: message.from,
        at: appended.at,
        body: EventBody::Message {
            client_msg_id: message.client_msg_id.clone(),
            body: message.body.clone(),
            reply_to: message.reply_to,
        },
    });
    Verdict { answer, event }
}

/// Waits for the next batch: up to [`MAX_BATCH`] sends, in arrival order, as many as have
/// queued (at least one). Once shutdown has begun the queue takes no more and what is left in
/// it is batched; `false` when it is empty then.
async fn next_batch(
    incoming: &mut mpsc::Receiver<Pending>,
    batch: &mut Vec<Pending>,
    shutdown: &Shutdown,
) -> bool {
    tokio::select! {
        biased;
        () = shutdown.triggered() => incoming.close(),
        got = incoming.recv_many(batch, MAX_BATCH) => return got > 0,
    }
    incoming.recv_many(batch, MAX_BATCH).await > 0
}

async fn run(
    store: Store,
    hub: Arc<Hub>,
    mut incoming: mpsc::Receiver<Pending>,
    shutdown: Shutdown,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while next_batch(&mut incoming, &mut batch, &shutdown).await {
        commit(&store, &hub, &batch).await;
        batch.clear();
    }
}

/// Stores one batch in one transaction, then answers and fans out each message in order.
async fn commit(store: &Store, hub: &Hub, batch: &[Pending]) {
    let messages: Vec<&NewMessage> = batch.iter().map(|p| &p.message).collect();
    let started = std::time::Instant::now();
    let result = store.append_messages(&messages, now_ms()).await;
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
    let stored = match result {
        Ok(stored) => stored,
        Err(err) => {
            tracing::error!(%err, messages = batch.len(), "group commit failed");
            for pending in batch {
                refuse(pending, "the message could not be stored; send it again");
            }
            return;
        }
    };
    for (pending, appended) in batch.iter().zip(stored) {
        let Verdict { answer, event } = verdict(&pending.message, &appended);
        pending.answer(&answer);
        let Some(event) = event else {
            continue;
        };
        ::metrics::counter!(super::metrics::MESSAGES_ROUTED).increment(1);
        let text = encode(&ServerFrame::Event(event));
        let fanned_out = hub
            .publish(appended.conv, appended.seq, &text, Origin::Local)
            .await;
        // Stored and acked; members' connections will find it when they next resume or fill a
        // gap.
        if let Err(err) = fanned_out {
            tracing::error!(%err, "cannot load members for fan-out");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        protocol::{ClientMsgId, ConvId, Seq, UserId},
        server::routing::queue,
    };

    fn message(id: &str) -> NewMessage {
        NewMessage {
            conv: ConvId(4),
            from: UserId(2),
            client_msg_id: ClientMsgId(id.into()),
            body: "hi".into(),
            reply_to: None,
        }
    }

    fn mailbox() -> (Mailbox, queue::Receiver<Outgoing>) {
        let budget = queue::Budget {
            bytes: 1 << 20,
            wait: std::time::Duration::from_secs(60),
        };
        let (queue, rx) = queue::channel(budget);
        let evict = tokio_util::sync::CancellationToken::new();
        let user = UserId(2);
        (Mailbox { user, queue, evict }, rx)
    }

    fn appended(seq: i64, outcome: Outcome) -> Appended {
        Appended {
            conv: ConvId(4),
            seq: Seq(seq),
            at: 1_000,
            outcome,
        }
    }

    #[test]
    fn a_stored_message_is_acked_and_fanned_out_a_retry_only_acked_a_stranger_refused() {
        let ack = |seq| ServerFrame::Ack {
            client_msg_id: ClientMsgId("m1".into()),
            conv: ConvId(4),
            seq: Seq(seq),
        };
        let stored = verdict(&message("m1"), &appended(9, Outcome::Stored));
        assert_eq!(stored.answer, ack(9));
        let event = stored.event.expect("a new message is fanned out");
        assert_eq!(
            (event.conv, event.seq, event.from, event.at),
            (ConvId(4), Seq(9), UserId(2), 1_000)
        );
        assert_eq!(
            event.body,
            EventBody::Message {
                client_msg_id: ClientMsgId("m1".into()),
                body: "hi".into(),
                reply_to: None,
            }
        );
        // A retry is acked with the original's seq, and nobody sees it twice.
        let retry = verdict(&message("m1"), &appended(3, Outcome::Duplicate));
        assert_eq!(
            retry,
            Verdict {
                answer: ack(3),
                event: None
            }
        );
        let refused = verdict(&message("m1"), &appended(0, Outcome::NotMember));
        assert_eq!(refused.event, None);
        assert!(matches!(
            refused.answer,
            ServerFrame::Error { code: ErrorCode::Forbidden, client_msg_id: Some(ClientMsgId(ref id)), refused: Some(FrameType::Send), .. } if id == "m1"
        ));
    }

    #[tokio::test]
    async fn a_batch_is_what_has_queued_in_order_up_to_the_cap_and_shutdown_drains_then_refuses() {
        let (queue, mut incoming) = mpsc::channel(QUEUE);
        let committer = Committer { queue };
        let (reply, mut replies) = mailbox();
        let shutdown = Shutdown::new();
        for i in 0..MAX_BATCH + 3 {
            committer
                .submit(message(&format!("m{i}")), reply.clone(), None)
                .await;
        }
        let mut batch = Vec::new();
        let ids = |batch: &mut Vec<Pending>| -> Vec<String> {
            batch.drain(..).map(|p| p.message.client_msg_id.0).collect()
        };
        assert!(next_batch(&mut incoming, &mut batch, &shutdown).await);
        let first = ids(&mut batch);
        assert_eq!(first.len(), MAX_BATCH);
        assert_eq!(
            (first[0].as_str(), first[MAX_BATCH - 1].as_str()),
            ("m0", "m127")
        );
        committer.submit(message("late"), reply.clone(), None).await;
        shutdown.trigger();
        // Shutdown: what was queued is still committed, in order; then the committer ends.
        assert!(next_batch(&mut incoming, &mut batch, &shutdown).await);
        assert_eq!(ids(&mut batch), ["m128", "m129", "m130", "late"]);
        assert!(!next_batch(&mut incoming, &mut batch, &shutdown).await);
        // A send after that is refused as unavailable, naming its id.
        committer.submit(message("after"), reply, None).await;
        let Some(Outgoing::Frame(text)) = replies.recv().await else {
            panic!("expected a refusal");
        };
        assert!(
            text.contains("unavailable") && text.contains("after"),
            "{text}"
        );
    }
}
