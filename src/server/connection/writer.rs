//! The writing half of a connection: drains its queue into the socket, delivering each
//! conversation's events in seq order with no gap and no duplicate.
//!
//! The writer remembers, per conversation, the last seq this client has ([`Cursors`], whose
//! rules are in `delivery.rs`). A live event at exactly the next seq is sent as is (the shared
//! bytes); one at or below is dropped (the client has it, e.g. from the replay); one further
//! ahead means something is missing — the replay is still behind, or another writer's event
//! overtook it — and the gap is filled from the store first. The same rule makes the seam
//! between `resume`'s replay and live delivery exact.
//!
//! Depends on the hub's queue, the store and the protocol; nothing above the connection.

use std::{collections::HashMap, task::Poll, time::Duration};

use super::delivery::{CatchUp, Cursors, Live, Stored};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures::{Sink, SinkExt};
use tokio_util::sync::CancellationToken;

use crate::{
    protocol::{
        self, ConvId, Cursor, Event, EventBody, MAX_PAGE, RECENT_PAGE, Req, Seq, ServerFrame,
        UserId, close_code,
    },
    server::{
        routing::{self, Outgoing, queue::Receiver},
        store::{Store, StoreError},
        wire::encode,
    },
};

/// How many events one store read replays.
const REPLAY_PAGE: u32 = 1000;

/// Why the writer stopped.
enum Stop {
    /// The socket refused a write, or a close frame was sent.
    Done,
    /// One write waited longer than the wait budget: the client is not reading.
    Slow,
    /// The store failed mid-delivery; the client must reconnect and resume.
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

/// One connection's delivery state.
struct Writer<W> {
    /// The socket.
    sink: W,
    /// Where replays and gap fills come from.
    store: Store,
    /// Whose connection this is.
    user: UserId,
    /// Per conversation, what this client has (and which it left).
    cursors: Cursors,
    /// The longest one write to the socket may wait before the client counts as stuck.
    max_wait: Duration,
}

/// How long an evicted connection's close frame may wait for room in a full socket: a client
/// that reads again within this time learns why (4008); one that does not is dropped. Its
/// queue is freed before this wait, so the wait holds no more than the socket's own buffer.
const EVICTED_CLOSE_WAIT: Duration = Duration::from_secs(5);

/// The close reason an evicted client reads.
const EVICTED_REASON: &str = "cannot keep up; reconnect and resume";

/// Runs the writer until the queue closes, a close is sent, the connection is evicted, or the
/// socket fails.
pub async fn run<W>(
    sink: W,
    mut queue: Receiver<Outgoing>,
    evict: CancellationToken,
    store: Store,
    user: UserId,
    max_wait: Duration,
) where
    W: Sink<Message> + Unpin,
{
    let mut writer = Writer {
        sink,
        store,
        user,
        cursors: Cursors::default(),
        max_wait,
    };
    loop {
        let item = tokio::select! {
            biased;
            () = evict.cancelled() => {
                writer.evicted(&mut queue).await;
                break;
            }
            next = queue.recv() => match next {
                Some(item) => item,
                None => break,
            },
        };
        // Frames are queued on the socket as they come and flushed once the queue is empty:
        // under load one write carries many frames instead of one system call per frame.
        // A write blocked on a peer that stopped reading must not outlive its eviction.
        let handled = tokio::select! {
            biased;
            () = evict.cancelled() => {
                writer.evicted(&mut queue).await;
                break;
            }
            handled = async {
                match writer.handle(item).await {
                    Ok(()) if queue.is_empty() => writer.flush().await,
                    other => other,
                }
            } => handled,
        };
        match handled {
            Ok(()) => {}
            Err(Stop::Done) => break,
            Err(Stop::Slow) => {
                routing::evict(&evict, writer.user, "a write waited too long");
                writer.evicted(&mut queue).await;
                break;
            }
            Err(Stop::Store(err)) => {
                tracing::error!(%err, "delivery failed; closing so the client resumes");
                let _ = writer
                    .close(close_code::GOING_AWAY, "temporarily unavailable")
                    .await;
                break;
            }
        }
    }
    let _ = writer.sink.close().await;
}

/// Runs one socket write, allowing it `max_wait`. A write that completes at once (the usual
/// case: the socket has room) costs no timer.
async fn bounded<F, E>(write: F, max_wait: Duration) -> Result<(), Stop>
where
    F: Future<Output = Result<(), E>>,
{
    let mut write = std::pin::pin!(write);
    let done = match futures::poll!(write.as_mut()) {
        Poll::Ready(done) => done,
        Poll::Pending => match tokio::time::timeout(max_wait, write).await {
            Ok(done) => done,
            Err(_elapsed) => return Err(Stop::Slow),
        },
    };
    done.map_err(|_| Stop::Done)
}

impl<W> Writer<W>
where
    W: Sink<Message> + Unpin,
{
    /// Queues a frame on the socket; [`Writer::flush`] sends what is queued.
    async fn send(&mut self, text: Utf8Bytes) -> Result<(), Stop> {
        let max_wait = self.max_wait;
        bounded(self.sink.feed(Message::Text(text)), max_wait).await
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        let max_wait = self.max_wait;
        bounded(self.sink.flush(), max_wait).await
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> Result<(), Stop> {
        self.send(encode(frame)).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) -> Result<(), Stop> {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = self.sink.send(Message::Close(Some(frame))).await;
        Err(Stop::Done)
    }

    /// Says goodbye to an evicted client: frees its queue first, then lets the close frame
    /// wait for room a while before the socket is dropped (the client sees the connection
    /// end, reconnects and resumes).
    async fn evicted(&mut self, queue: &mut Receiver<Outgoing>) {
        queue.close();
        let closing = self.close(close_code::TOO_SLOW, EVICTED_REASON);
        let _ = tokio::time::timeout(EVICTED_CLOSE_WAIT, closing).await;
    }

    async fn handle(&mut self, item: Outgoing) -> Result<(), Stop> {
        match item {
            Outgoing::Frame(text) | Outgoing::Ephemeral(text) => self.send(text).await,
            Outgoing::Event {
                conv,
                seq,
                text,
                departs,
            } => self.event(conv, seq, text, departs).await,
            // What reads the store is boxed: its futures are large, and kept inline they would
            // make every idle connection's task as large as the largest of them.
            Outgoing::Resume(cursors, req) => Box::pin(self.resume(cursors, req)).await,
            Outgoing::Ping => {
                let max_wait = self.max_wait;
                bounded(self.sink.feed(Message::Ping(Default::default())), max_wait).await
            }
            Outgoing::Upto(conv, seq) => Box::pin(self.upto(conv, seq)).await,
            Outgoing::Added(conv) => Box::pin(self.added(conv)).await,
            Outgoing::Gone(conv) => {
                self.cursors.gone(conv);
                self.send_frame(&ServerFrame::Gone { conv }).await
            }
            Outgoing::Close(code, reason) => self.close(code, reason).await,
        }
    }

    /// Whether `event` ends this user's membership (they left or were removed).
    fn departs(&self, event: &Event) -> bool {
        match &event.body {
            EventBody::Left {} => event.from == self.user,
            EventBody::Removed { user } => *user == self.user,
            _ => false,
        }
    }

    /// Sends stored events the client does not have, advancing the cursor; stops after one that
    /// ends the user's membership.
    async fn send_events(&mut self, events: Vec<Event>) -> Result<(), Stop> {
        for event in events {
            let (conv, seq) = (event.conv, event.seq);
            match self.cursors.stored(conv, seq) {
                Stored::Stop => return Ok(()),
                Stored::Skip => continue,
                Stored::Send => {}
            }
            let departs = self.departs(&event);
            self.send_frame(&ServerFrame::Event(event)).await?;
            self.cursors.sent(conv, seq);
            // An old departure followed by a rejoin is history; only a final one ends delivery.
            if departs && !self.store.is_member(conv, self.user).await? {
                self.cursors.depart(conv, seq);
                return Ok(());
            }
        }
        Ok(())
    }

    /// Sends every stored event of `conv` after what the client has, up to `until` (exclusive)
    /// or to the newest.
    async fn replay(&mut self, conv: ConvId, until: Option<Seq>) -> Result<(), Stop> {
        loop {
            let Some((after, want)) = self.cursors.replay_page(conv, until, REPLAY_PAGE) else {
                return Ok(());
            };
            let events = self.store.events_after(conv, after, want).await?;
            ::metrics::counter!(crate::server::metrics::REPLAYED).increment(events.len() as u64);
            let complete = (events.len() as u32) < want;
            self.send_events(events).await?;
            if complete {
                return Ok(());
            }
        }
    }

    async fn event(
        &mut self,
        conv: ConvId,
        seq: Seq,
        text: Utf8Bytes,
        departs: Option<UserId>,
    ) -> Result<(), Stop> {
        let mut rule = self.cursors.live(conv, seq);
        if rule == Live::Unknown {
            // A conversation this connection was never told about: introduce it (with recent
            // history, which will include this event or end just before it).
            Box::pin(self.added(conv)).await?;
            rule = self.cursors.live(conv, seq);
        }
        match rule {
            // Routed from a member list read before this user left: not theirs any more.
            Live::NotTheirs
            // Not introduced after all (the user is no member).
            | Live::Unknown
            | Live::Duplicate => return Ok(()),
            Live::Gap => {
                Box::pin(self.replay(conv, Some(seq))).await?;
                if !self.cursors.is_delivering(conv) {
                    // The gap held this user's departure.
                    return Ok(());
                }
            }
            Live::Next => {}
        }
        self.send(text).await?;
        self.cursors.sent(conv, seq);
        if departs == Some(self.user) {
            self.cursors.depart(conv, seq);
        }
        Ok(())
    }

    /// Cluster catch-up: `conv` has events up to `seq` that may not have been routed here.
    async fn upto(&mut self, conv: ConvId, seq: Seq) -> Result<(), Stop> {
        match self.cursors.catch_up(conv, seq) {
            CatchUp::Nothing => Ok(()),
            CatchUp::Introduce => self.added(conv).await,
            CatchUp::Replay => self.replay(conv, Some(seq.next())).await,
        }
    }

    /// Replays what the cursors lack, introduces conversations they do not list, tells the
    /// client its read position in each listed one (it may have moved on another device while
    /// this one was away) and its notification settings there, its "do not disturb", block
    /// list and pending invitations, then says `synced`, echoing
    /// the `resume`'s `req`.
    async fn resume(&mut self, cursors: Vec<Cursor>, req: Option<Req>) -> Result<(), Stop> {
        ::metrics::counter!(crate::server::metrics::RESUMES).increment(1);
        let conversations = self.store.conversations(self.user, None).await?;
        let listed: HashMap<ConvId, Seq> = cursors.iter().map(|c| (c.conv, c.seq)).collect();
        for cursor in &cursors {
            if !conversations.iter().any(|c| c.id == cursor.conv) {
                self.send_frame(&ServerFrame::Gone { conv: cursor.conv })
                    .await?;
            }
        }
        for summary in conversations {
            match listed.get(&summary.id) {
                Some(&seq) => {
                    self.cursors.resume(summary.id, seq, summary.last_seq);
                    let read = ServerFrame::ReadState {
                        conv: summary.id,
                        seq: summary.read_seq,
                    };
                    // The settings too: they may have changed on another device meanwhile.
                    let notify = ServerFrame::Notify {
                        conv: summary.id,
                        level: summary.notify.level,
                        muted: summary.notify.muted,
                    };
                    self.replay(summary.id, None).await?;
                    // Unless the replay ended this user's membership.
                    if self.cursors.is_delivering(summary.id) {
                        self.send_frame(&read).await?;
                        self.send_frame(&notify).await?;
                    }
                }
                None => self.introduce(summary).await?,
            }
        }
        // Per-user state: "do not disturb" when it is on (a connection starts with it off),
        // the block list when there is one (none before `synced` means nobody), and each
        // pending invitation.
        if self.store.do_not_disturb(self.user).await? {
            self.send_frame(&ServerFrame::DoNotDisturb { on: true })
                .await?;
        }
        let blocked = self.store.blocked_by(self.user).await?;
        if !blocked.is_empty() {
            self.send_frame(&ServerFrame::Blocks { users: blocked })
                .await?;
        }
        for invitation in self.store.invitations(self.user).await? {
            self.send_frame(&ServerFrame::Invitation(invitation))
                .await?;
        }
        let synced = protocol::encode_reply(&ServerFrame::Synced {}, req.as_ref());
        self.send(synced.into()).await
    }

    async fn added(&mut self, conv: ConvId) -> Result<(), Stop> {
        let Some(summary) = self.store.conversations(self.user, Some(conv)).await?.pop() else {
            return Ok(());
        };
        if self.cursors.rejoin(conv) {
            // Back after leaving: continue from what the client has, without repeats.
            self.send_frame(&ServerFrame::Conversation(summary)).await?;
            return self.replay(conv, None).await;
        }
        if self.cursors.is_delivering(conv) {
            self.send_frame(&ServerFrame::Conversation(summary)).await
        } else {
            self.introduce(summary).await
        }
    }

    /// Announces a conversation and sends its recent history.
    async fn introduce(&mut self, summary: crate::protocol::ConvSummary) -> Result<(), Stop> {
        let conv = summary.id;
        let last = summary.last_seq;
        self.send_frame(&ServerFrame::Conversation(summary)).await?;
        let page = self
            .store
            .events_before(conv, last.next(), RECENT_PAGE.min(MAX_PAGE))
            .await?;
        // Never repeat what this connection already delivered.
        self.cursors.introduce(conv);
        self.send_events(page).await?;
        // Anything stored after the summary was read arrives live or fills in as a gap.
        self.cursors.introduced_up_to(conv, last);
        Ok(())
    }
}
