//! One load client: a token-authenticated WebSocket speaking the real protocol, on the low
//! level of `switchboard::client` (its connect and wire functions and its dedupe tracker): a
//! reader counts deliveries from the raw text, decoding no event.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures::{SinkExt, StreamExt, stream::SplitSink, stream::SplitStream};
use hdrhistogram::Histogram;
use switchboard::{
    client::{self as sb, ClientError, Take, Target, Tracker, wire},
    protocol::{ClientFrame, ClientMsgId, ConvId, Epoch, Seq, ServerFrame, UserId, encode_client},
    server::accounts::Provisioned,
};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::{Message, protocol::WebSocketConfig};
use tokio_util::sync::CancellationToken;

pub use switchboard::client::event_position;

/// A connected socket.
pub type Ws = sb::Socket;

/// How long any one protocol step may take before the client gives up.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// A connected, resumed client.
pub struct Client {
    /// Who it is.
    pub user: UserId,
    /// Its socket.
    pub ws: Ws,
}

/// Microseconds since the Unix epoch.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Connects client number `n` as `account`, from a source address picked by `n`, completes the
/// handshake (hello, resume, synced). A small receive buffer makes a client that stops reading
/// back up quickly (the `slow` scenario).
pub async fn connect(
    addr: SocketAddr,
    n: usize,
    account: &Provisioned,
    small_receive_buffer: bool,
) -> Result<Client, String> {
    let (user, _, mut ws) = open(addr, n, account, small_receive_buffer).await?;
    send(&mut ws, &ClientFrame::Resume { cursors: vec![] }).await?;
    wait_for(&mut ws, |f| matches!(f, ServerFrame::Synced {})).await?;
    Ok(Client { user, ws })
}

/// How a reader that was evicted (or lost its connection) gets back: who it is and where.
#[derive(Clone)]
pub struct Rejoin {
    /// The node it connects to.
    pub addr: SocketAddr,
    /// Its client number (picks the source address).
    pub n: usize,
    /// Its account.
    pub account: Provisioned,
}

/// Reconnects as a real client does after an eviction: hello, then `resume` with the last seq
/// it has of every conversation — none if the hello names another store epoch than the one
/// those seqs came from. The replay follows on the returned socket, before `synced`.
pub async fn reconnect(rejoin: &Rejoin, seen: &mut Seen) -> Result<Ws, String> {
    let (_, epoch, mut ws) = open(rejoin.addr, rejoin.n, &rejoin.account, false).await?;
    seen.tracker.hello(&epoch);
    let cursors = seen.tracker.cursors();
    send(&mut ws, &ClientFrame::Resume { cursors }).await?;
    Ok(ws)
}

/// Opens the socket and reads the hello.
async fn open(
    addr: SocketAddr,
    n: usize,
    account: &Provisioned,
    small_receive_buffer: bool,
) -> Result<(UserId, Epoch, Ws), String> {
    let source = Ipv4Addr::new(127, 0, 0, 2 + (n % 253) as u8);
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::from((source, 0)))
        .map_err(|e| format!("bind {source}: {e}"))?;
    if small_receive_buffer {
        socket
            .set_recv_buffer_size(4096)
            .map_err(|e| e.to_string())?;
    }
    let stream = socket
        .connect(addr)
        .await
        .map_err(|e| format!("connect from {source}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let target = Target::new(addr.to_string()).bearer(&account.token);
    let mut ws = sb::open_on(stream, &target, Some(config))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    match wire::read_hello(&mut ws, STEP_TIMEOUT).await {
        Ok(hello) => Ok((hello.user, hello.epoch, ws)),
        Err(err) => Err(format!("expected hello: {err}")),
    }
}

/// Sends one frame.
pub async fn send(ws: &mut Ws, frame: &ClientFrame) -> Result<(), String> {
    wire::send_frame(ws, frame).await.map_err(|e| e.to_string())
}

/// The next server frame (skipping control frames).
pub async fn next_frame(ws: &mut Ws) -> Result<ServerFrame, String> {
    match wire::next_reply(ws, STEP_TIMEOUT).await {
        Ok(reply) => Ok(reply.frame),
        Err(ClientError::Timeout(_)) => Err("timed out waiting for the server".into()),
        Err(err) => Err(err.to_string()),
    }
}

/// Reads frames until one matches (for at most [`STEP_TIMEOUT`] in all); returns it.
pub async fn wait_for(
    ws: &mut Ws,
    wanted: impl Fn(&ServerFrame) -> bool,
) -> Result<ServerFrame, String> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if Instant::now() > deadline {
            return Err(format!("no wanted frame within {STEP_TIMEOUT:?}"));
        }
        let frame = next_frame(ws).await?;
        if let ServerFrame::Error { code, message, .. } = &frame {
            return Err(format!("server refused: {}: {message}", code.as_str()));
        }
        if wanted(&frame) {
            return Ok(frame);
        }
    }
}

/// Counters every task adds to, for the progress line and the verdict.
#[derive(Default)]
pub struct Counters {
    /// Messages sent.
    pub sent: AtomicU64,
    /// Events received carrying a send time.
    pub delivered: AtomicU64,
    /// Events a reader already had (a seq at or below its last): duplicates.
    pub duplicates: AtomicU64,
    /// Seqs a reader never got between two it did: loss or disorder.
    pub gaps: AtomicU64,
    /// Readers whose connection ended (evicted, or dropped) and who reconnected and resumed.
    pub reconnects: AtomicU64,
}

/// Per conversation, the last seq one reader has: its `resume` cursors after an eviction, and
/// the yardstick for duplicates and gaps (`switchboard::client::Tracker`, with its epoch).
#[derive(Clone, Debug, Default)]
pub struct Seen {
    tracker: Tracker,
}

impl Seen {
    /// Records an event at `seq` of `conv`; `false` if the reader had it already. Gaps are
    /// counted in `counters`.
    pub fn take(&mut self, conv: ConvId, seq: Seq, counters: &Counters) -> bool {
        match self.tracker.take(conv, seq) {
            Take::New => true,
            Take::Duplicate => {
                counters.duplicates.fetch_add(1, Ordering::Relaxed);
                false
            }
            Take::AfterGap { missed } => {
                counters.gaps.fetch_add(missed, Ordering::Relaxed);
                true
            }
        }
    }

    /// The last seq held of `conv` (0 for none).
    pub fn last(&self, conv: ConvId) -> i64 {
        self.tracker.last(conv).map_or(0, |s| s.0)
    }
}

/// What one reader hands back at the end of a phase.
pub struct Received {
    /// Latency samples, µs.
    pub samples: Vec<u64>,
    /// Its socket's reading half (a new one if it reconnected).
    pub stream: SplitStream<Ws>,
    /// The writing half of a new socket, if it reconnected (the old one is dead).
    pub sink: Option<SplitSink<Ws, Message>>,
    /// What it has, per conversation.
    pub seen: Seen,
}

/// Reads until `stop`: records scheduled-send → receive latency (µs) of every timed message.
///
/// Each task keeps plain samples, merged into one histogram at the end of the phase: a
/// histogram of this range is ~190 KB, and one per connection (10k readers, 10k senders) made
/// the generator allocate and zero gigabytes at every phase start, which it then reported as
/// its own lateness.
///
/// A reader whose connection ends (the server evicted it, or dropped it) reconnects with
/// `rejoin` and resumes from what it has, as a real client would: what it missed arrives in the
/// replay and counts as delivered, late. `pause` holds off reading at the start (a reader that
/// is briefly slow).
pub async fn receive(
    mut stream: SplitStream<Ws>,
    stop: CancellationToken,
    counters: Arc<Counters>,
    mut seen: Seen,
    rejoin: Option<Rejoin>,
    pause: Duration,
) -> Received {
    let mut samples = Vec::new();
    let mut sink = None;
    if !pause.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.cancelled() => {}
        }
    }
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            () = stop.cancelled() => break,
        };
        match message {
            Some(Ok(Message::Text(text))) => {
                let text = text.as_str();
                if let Some((conv, seq)) = event_position(text)
                    && !seen.take(conv, seq, &counters)
                {
                    continue;
                }
                if let Some(sent) = send_time(text) {
                    let now = unix_micros();
                    samples.push(now.saturating_sub(sent).max(1));
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                let Some(rejoin) = &rejoin else { break };
                counters.reconnects.fetch_add(1, Ordering::Relaxed);
                match reconnect(rejoin, &mut seen).await {
                    Ok(ws) => {
                        let (new_sink, new_stream) = ws.split();
                        stream = new_stream;
                        sink = Some(new_sink);
                    }
                    Err(err) => {
                        eprintln!("\nloadgen: client {} could not reconnect: {err}", rejoin.n);
                        break;
                    }
                }
            }
            Some(Ok(_)) => {}
        }
    }
    Received {
        samples,
        stream,
        sink,
        seen,
    }
}

/// A histogram of 1 µs to 1 h at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// The send time in an event frame's body (`"body":"t=<µs> …"`), without decoding the frame.
fn send_time(text: &str) -> Option<u64> {
    let start = text.find("\"body\":\"t=")? + "\"body\":\"t=".len();
    let digits = &text[start..];
    let end = digits.find(|c: char| !c.is_ascii_digit())?;
    digits[..end].parse().ok()
}

/// What a sender does: which conversation its `k`th message goes to, at what rate, until when.
pub struct Schedule {
    /// Messages per second from this client.
    pub rate: f64,
    /// The phase starts here (every sender shares it).
    pub start: Instant,
    /// No message is scheduled at or after this.
    pub until: Instant,
    /// Body size in bytes.
    pub body_bytes: usize,
    /// This sender's place among all the phase's senders, and how many there are: first sends
    /// are spread evenly over one period, so the aggregate rate is smooth, not in bursts.
    pub slot: (usize, usize),
    /// Which phase this is: message ids must differ between phases, or the server (rightly)
    /// takes a repeated id for a resend and stores nothing new.
    pub phase: u64,
}

/// Sends on a fixed schedule, whatever the replies do (open loop). A sender that falls behind
/// sends late with the scheduled time in the body, so the delay counts as latency.
pub async fn send_on_schedule(
    mut sink: SplitSink<Ws, Message>,
    id: usize,
    conv_for: impl Fn(u64) -> ConvId,
    schedule: Schedule,
    counters: Arc<Counters>,
) -> (SplitSink<Ws, Message>, Vec<u64>) {
    // How late each send left, against its schedule: the generator's own share of the latency.
    let mut lateness = Vec::new();
    let period = Duration::from_secs_f64(1.0 / schedule.rate);
    // Senders start spread evenly over one period, so they do not fire together.
    let (slot, slots) = schedule.slot;
    let offset = period.mul_f64(slot as f64 / slots.max(1) as f64);
    // The Unix time of `schedule.start` (which may still be ahead).
    let now = Instant::now();
    let base_unix = if schedule.start >= now {
        unix_micros() as i64 + (schedule.start - now).as_micros() as i64
    } else {
        unix_micros() as i64 - (now - schedule.start).as_micros() as i64
    };
    let mut k: u64 = 0;
    loop {
        let due = schedule.start + offset + period.mul_f64(k as f64);
        if due >= schedule.until {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        lateness.push((Instant::now() - due).as_micros().max(1) as u64);
        let due_unix = base_unix + (due - schedule.start).as_micros() as i64;
        let mut body = format!("t={due_unix} ");
        while body.len() < schedule.body_bytes {
            body.push('x');
        }
        let frame = ClientFrame::Send {
            client_msg_id: ClientMsgId(format!("{}-{id}-{k}", schedule.phase)),
            conv: conv_for(k),
            body,
            reply_to: None,
        };
        if sink
            .send(Message::text(encode_client(&frame)))
            .await
            .is_err()
        {
            break;
        }
        counters.sent.fetch_add(1, Ordering::Relaxed);
        k += 1;
    }
    (sink, lateness)
}
