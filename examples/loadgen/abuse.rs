//! `abuse`: well-behaved users chat in a room while attackers take turns at one fresh server.
//!
//! Phases, in order: `baseline` (the crowd alone), `non-reader` (a client that never reads asks
//! for 1,100 pages of long history), `connection flood` (idle TCP connections from many addresses
//! and from one, plus hundreds of WebSocket upgrades with one user's token), `slowloris` (request
//! heads and bodies trickled a byte a second), one `flood <frame>` phase per costly frame kind,
//! and `after` (the crowd alone again, attackers gone). Each phase reports the server's RSS (and
//! its peak, sampled every 50 ms), its open file descriptors, the crowd's p99 against the
//! baseline, and what the attackers got (refused, accepted, still open, rate limited, applied).
//!
//! Only what holds on a busy 2-core machine fails the run: loss or duplication among the crowd,
//! `/healthz` not answering within 5 s during the flood, and the server's RSS or fd count running
//! away. The p99 ratio is reported, never checked: there it is mostly noise. Where a limit an
//! attack probes is not configured (rate limits, caps, timeouts), the phase runs all the same and
//! its counters show what got through.
//!
//! The attacks live in [`sockets`] (the listener) and [`frames`] (the protocol); this file holds
//! the plan, the crowd and the phase loop that measures both.

mod frames;
mod sockets;

use std::{
    collections::BTreeMap,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use futures::stream::{SplitSink, SplitStream, StreamExt};
use hdrhistogram::Histogram;
use switchboard::{
    protocol::{ClientFrame, ConvId, ErrorCode, ServerFrame},
    server::accounts::Provisioned,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::{
    client::{self, Counters, Schedule, Ws},
    report::Outcome,
    scenarios::Options,
    server::{ServerProcess, Usage},
};

/// Server RSS above which a phase fails: bounded queues keep it far below this.
const RSS_LIMIT: u64 = 512 * 1024 * 1024;

/// Open fds a phase may add beyond the baseline and its own attack sockets (database, pools,
/// sockets still closing): anything past it is a leak, not load.
const FD_SLACK: u64 = 100;

/// How long `/healthz` may take while the server is flooded.
const HEALTH_LIMIT: Duration = Duration::from_secs(5);

/// How long the crowd's messages in flight may take to arrive after the last send.
const DRAIN: Duration = Duration::from_secs(10);

/// How long setup waits out a rate limit before it gives up: it must work whatever limits are
/// configured, since other branches are adding them.
const SETUP_PATIENCE: Duration = Duration::from_secs(60);

/// Crowd members who send (the first ones); the rest only read.
const SENDERS: usize = 2;

/// The provisioned accounts, by role: the crowd first, then one per attacker.
const CROWD: usize = 20;
/// Asks for history and never reads.
const NON_READER: usize = CROWD;
/// Fill the history room before the phases.
const WRITERS: [usize; 2] = [CROWD + 1, CROWD + 2];
/// Its token opens the flood's WebSocket upgrades.
const HOG: usize = CROWD + 3;
/// Floods frames.
const FLOODER: usize = CROWD + 4;
/// How many accounts to provision.
const ACCOUNTS: usize = CROWD + 5;

/// The sizes of one run (`--size tiny` or `full`).
struct Plan {
    /// Messages per second from each crowd sender.
    rate_each: f64,
    /// `baseline` and `after` length, seconds.
    quiet_secs: f64,
    /// `non-reader` length.
    non_reader_secs: f64,
    /// `connection flood` length (connecting included).
    flood_secs: f64,
    /// `slowloris` length; longer than the header and body timeouts, so they show.
    slowloris_secs: f64,
    /// Length of each `flood <frame>` phase.
    frame_secs: f64,
    /// History requests the non-reader sends.
    history_requests: usize,
    /// Idle TCP connections in the flood.
    tcp_flood: usize,
    /// WebSocket upgrades with one user's token in the flood.
    ws_flood: usize,
    /// Sockets of each slowloris kind (head, body over the size cap, body under it).
    slowloris: usize,
    /// Server settings the load needs (`SWITCHBOARD_…` variables).
    env: &'static [(&'static str, &'static str)],
}

impl Plan {
    /// The plan for `--size full` or `tiny`.
    fn new(full: bool) -> Self {
        // The defaults, restored: `ServerProcess` lifts the message limit for the throughput
        // scenarios, and the crowd stays far below the real one.
        const DEFAULT_MESSAGES: (&str, &str) = ("SWITCHBOARD_LIMITS_MESSAGES_PER_SECOND", "50");
        if full {
            Self {
                rate_each: 20.0,
                quiet_secs: 10.0,
                non_reader_secs: 15.0,
                flood_secs: 20.0,
                // Past the default body timeout (30 s).
                slowloris_secs: 40.0,
                frame_secs: 5.0,
                history_requests: 1_100,
                tcp_flood: 3_000,
                ws_flood: 300,
                slowloris: 300,
                env: &[DEFAULT_MESSAGES],
            }
        } else {
            Self {
                rate_each: 10.0,
                quiet_secs: 3.0,
                non_reader_secs: 4.0,
                flood_secs: 5.0,
                slowloris_secs: 6.0,
                frame_secs: 1.5,
                history_requests: 1_100,
                tcp_flood: 500,
                ws_flood: 100,
                slowloris: 40,
                // A tiny run's phases are shorter than the default timeouts (10 s and 30 s):
                // shorter ones let the phases show whether the server enforces them.
                env: &[
                    DEFAULT_MESSAGES,
                    ("SWITCHBOARD_SERVER_HEADER_TIMEOUT_MS", "2000"),
                    ("SWITCHBOARD_SERVER_BODY_TIMEOUT_MS", "3000"),
                ],
            }
        }
    }
}

/// A phase's sending window, shared by the crowd and the attacker.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// When sending starts.
    pub start: Instant,
    /// When the attack lets go and the crowd stops sending.
    pub until: Instant,
}

impl Window {
    /// A window of `secs` starting shortly, so every task is spawned before it opens.
    fn soon(secs: f64) -> Self {
        let start = Instant::now() + Duration::from_millis(200);
        Self {
            start,
            until: start + Duration::from_secs_f64(secs),
        }
    }
}

/// What an attack did, for the report and the checks.
#[derive(Debug, Default)]
pub struct Attack {
    /// Named counters (refused, accepted, still open, rate limited, applied…).
    pub counters: BTreeMap<&'static str, u64>,
    /// The most sockets it could hold at once: the server may hold as many fds more than at
    /// baseline.
    pub sockets: u64,
    /// What went wrong, limited to what is robust on a busy machine.
    pub problems: Vec<String>,
}

impl Attack {
    /// Adds `n` to counter `name`.
    pub fn count(&mut self, name: &'static str, n: u64) {
        *self.counters.entry(name).or_default() += n;
    }
}

/// The well-behaved users: members of one room, the first [`SENDERS`] sending on a schedule.
struct Crowd {
    /// Each member's sending half, lent to a task for a phase and given back.
    sinks: Vec<Option<SplitSink<Ws, Message>>>,
    /// Each member's receiving half, likewise.
    streams: Vec<Option<SplitStream<Ws>>>,
    /// Their room.
    room: ConvId,
}

/// What the crowd measured in one phase.
struct CrowdRun {
    /// Messages sent.
    sent: u64,
    /// Deliveries those should cause (every member, the sender's echo included).
    expected: u64,
    /// Scheduled send → receive, µs, every delivery.
    latency: Histogram<u64>,
    /// How late the generator itself sent, µs.
    lateness: Histogram<u64>,
}

impl Crowd {
    /// Connects `accounts`; the first creates a public room and the others join it.
    async fn gather(server: &ServerProcess, accounts: &[Provisioned]) -> Result<Self, String> {
        let mut clients = Vec::with_capacity(accounts.len());
        for (n, account) in accounts.iter().enumerate() {
            clients.push(client::connect(server.addr, n, account, false).await?);
        }
        let (owner, rest) = clients.split_first_mut().ok_or("an empty crowd")?;
        let room = create_room(&mut owner.ws, "abuse-crowd", true).await?;
        for member in rest {
            join(&mut member.ws, room).await?;
        }
        let (sinks, streams) = clients
            .into_iter()
            .map(|c| {
                let (sink, stream) = c.ws.split();
                (Some(sink), Some(stream))
            })
            .unzip();
        Ok(Self {
            sinks,
            streams,
            room,
        })
    }

    /// Everyone reads and the senders send at `rate_each` through `window`; then what is in
    /// flight gets [`DRAIN`] to arrive.
    async fn run(&mut self, window: Window, rate_each: f64) -> Result<CrowdRun, String> {
        let counters = Arc::new(Counters::default());
        let stop = CancellationToken::new();
        let mut readers = Vec::with_capacity(self.streams.len());
        for (i, stream) in self.streams.iter_mut().enumerate() {
            let stream = stream.take().ok_or("stream in use")?;
            // No rejoin: a well-behaved reader evicted here is a failure, seen as loss.
            let task = tokio::spawn(client::receive(
                stream,
                stop.clone(),
                Arc::clone(&counters),
                client::Seen::default(),
                None,
                Duration::ZERO,
            ));
            readers.push((i, task));
        }
        // Message ids must differ between phases, or the server takes them for resends.
        let phase = client::unix_micros();
        let mut writers = Vec::with_capacity(SENDERS);
        for slot in 0..SENDERS {
            let sink = self.sinks[slot].take().ok_or("sink in use")?;
            let schedule = Schedule {
                rate: rate_each,
                start: window.start,
                until: window.until,
                body_bytes: 100,
                slot: (slot, SENDERS),
                phase,
            };
            let room = self.room;
            let task = tokio::spawn(client::send_on_schedule(
                sink,
                slot,
                move |_| room,
                schedule,
                Arc::clone(&counters),
            ));
            writers.push((slot, task));
        }
        let mut lateness = client::new_histogram();
        for (slot, task) in writers {
            let (sink, late) = task.await.map_err(|e| e.to_string())?;
            self.sinks[slot] = Some(sink);
            for sample in late {
                lateness.saturating_record(sample);
            }
        }
        let sent = counters.sent.load(Ordering::Relaxed);
        let expected = sent * self.streams.len() as u64;
        let deadline = Instant::now() + DRAIN;
        while counters.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.cancel();
        let mut latency = client::new_histogram();
        for (i, task) in readers {
            let received = task.await.map_err(|e| e.to_string())?;
            for sample in received.samples {
                latency.saturating_record(sample);
            }
            self.streams[i] = Some(received.stream);
        }
        Ok(CrowdRun {
            sent,
            expected,
            latency,
            lateness,
        })
    }
}

/// What later phases are compared with.
struct Baseline {
    /// The crowd's p99 alone, µs.
    p99_us: u64,
    /// The server's open fds with only the crowd (and the idle attackers' setup) connected.
    fds: u64,
}

/// Runs `attack` and the crowd together through `window`, sampling the server meanwhile.
async fn phase(
    server: &ServerProcess,
    crowd: &mut Crowd,
    plan: &Plan,
    (name, params): (&str, String),
    window: Window,
    baseline: Option<&Baseline>,
    attack: impl Future<Output = Attack>,
) -> Result<Outcome, String> {
    let before = server.usage();
    let stop = CancellationToken::new();
    let work = async {
        let done = tokio::join!(crowd.run(window, plan.rate_each), attack);
        stop.cancel();
        done
    };
    let ((run, attack), peak) = tokio::join!(work, sample_peaks(server, stop.clone()));
    let run = run?;
    let after = server.usage();
    eprintln!(
        "[abuse] {name}: {} sent, {} of {} delivered, {} attack counters",
        run.sent,
        run.latency.len(),
        run.expected,
        attack.counters.len()
    );
    let mut outcome = Outcome::new(&format!("abuse: {name}"), params);
    outcome.connections = crowd.streams.len();
    outcome.sent = run.sent;
    outcome.expected = run.expected;
    outcome.delivered = run.latency.len();
    outcome.seconds = (window.until - window.start).as_secs_f64();
    outcome.set_server(Usage {
        cpu_secs: after.cpu_secs - before.cpu_secs,
        ..after
    });
    outcome.rss_after = after.rss_bytes;
    outcome.set_latency(&run.latency);
    outcome.send_lateness_p99_us = run.lateness.value_at_quantile(0.99);
    let rss_peak = peak.rss_bytes.max(after.rss_bytes);
    let fds_peak = peak.fds.max(after.fds);
    outcome.rss_peak = Some(rss_peak);
    outcome.fds_after = Some(after.fds);
    outcome.fds_peak = Some(fds_peak);
    outcome.attack = attack.counters;
    outcome.problems.extend(attack.problems);
    if rss_peak > RSS_LIMIT {
        outcome.problems.push(format!(
            "server RSS reached {} MiB (limit {} MiB)",
            rss_peak >> 20,
            RSS_LIMIT >> 20
        ));
    }
    if let Some(baseline) = baseline {
        outcome.p99_ratio = Some(outcome.p99_us as f64 / baseline.p99_us.max(1) as f64);
        let allowed = baseline.fds + attack.sockets + FD_SLACK;
        if fds_peak > allowed {
            outcome.problems.push(format!(
                "server held {fds_peak} fds (baseline {} + {} attack sockets + {FD_SLACK})",
                baseline.fds, attack.sockets
            ));
        }
    }
    Ok(outcome)
}

/// The server's highest RSS and fd count, sampled every 50 ms until `stop`.
async fn sample_peaks(server: &ServerProcess, stop: CancellationToken) -> Usage {
    let mut peak = Usage::default();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => break,
        }
        let now = server.usage();
        peak.rss_bytes = peak.rss_bytes.max(now.rss_bytes);
        peak.fds = peak.fds.max(now.fds);
    }
    peak
}

/// Waits (at most 10 s) for the server to close what the last attack left behind, so the next
/// phase's fd count is its own.
async fn settle(server: &ServerProcess, baseline: &Baseline) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.usage().fds > baseline.fds + FD_SLACK && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `abuse`: the crowd through every attack phase, against one fresh server.
pub async fn run(options: &Options) -> Result<Vec<Outcome>, String> {
    let plan = Plan::new(options.full);
    let (server, accounts) =
        ServerProcess::start(&options.server, ACCOUNTS, plan.env, None).await?;
    let mut crowd = Crowd::gather(&server, &accounts[..CROWD]).await?;
    let writers = WRITERS.map(|w| &accounts[w]);
    let history = frames::HistoryRoom::fill(&server, &accounts[NON_READER], &writers).await?;
    let mut flooder = frames::Flooder::connect(&server, &accounts[FLOODER], crowd.room).await?;
    eprintln!(
        "[abuse] {CROWD} users in a room, {SENDERS} sending {} msg/s each; history room of {} \
         events",
        plan.rate_each, history.last.0
    );
    let crowd_params = format!("{CROWD} users, {SENDERS}×{} msg/s", plan.rate_each);
    let mut outcomes = Vec::new();

    let quiet = async { Attack::default() };
    let window = Window::soon(plan.quiet_secs);
    let first = phase(
        &server,
        &mut crowd,
        &plan,
        ("baseline", crowd_params.clone()),
        window,
        None,
        quiet,
    )
    .await?;
    let baseline = Baseline {
        p99_us: first.p99_us,
        fds: first.fds_after.unwrap_or(0),
    };
    outcomes.push(first);

    let window = Window::soon(plan.non_reader_secs);
    let attack = frames::non_reader(
        server.addr,
        &accounts[NON_READER],
        &history,
        plan.history_requests,
        window,
    );
    let params = format!("{} history requests of 100", plan.history_requests);
    outcomes.push(
        phase(
            &server,
            &mut crowd,
            &plan,
            ("non-reader", params),
            window,
            Some(&baseline),
            attack,
        )
        .await?,
    );
    settle(&server, &baseline).await;

    let window = Window::soon(plan.flood_secs);
    let attack = sockets::flood(
        server.addr,
        &accounts[HOG],
        HOG,
        (plan.tcp_flood, plan.ws_flood),
        window,
    );
    let params = format!("{} idle TCP, {} WS one user", plan.tcp_flood, plan.ws_flood);
    outcomes.push(
        phase(
            &server,
            &mut crowd,
            &plan,
            ("connection flood", params),
            window,
            Some(&baseline),
            attack,
        )
        .await?,
    );
    settle(&server, &baseline).await;

    let window = Window::soon(plan.slowloris_secs);
    let attack = sockets::slowloris(server.addr, plan.slowloris, window);
    let params = format!("{} each: head, 100k body, 60k body", plan.slowloris);
    outcomes.push(
        phase(
            &server,
            &mut crowd,
            &plan,
            ("slowloris", params),
            window,
            Some(&baseline),
            attack,
        )
        .await?,
    );
    settle(&server, &baseline).await;

    for kind in frames::Kind::ALL {
        let window = Window::soon(plan.frame_secs);
        let attack = flooder.flood(kind, window);
        let name = format!("flood {}", kind.name());
        outcomes.push(
            phase(
                &server,
                &mut crowd,
                &plan,
                (name.as_str(), "one user, closed loop".into()),
                window,
                Some(&baseline),
                attack,
            )
            .await?,
        );
    }
    drop(flooder);
    settle(&server, &baseline).await;

    let quiet = async { Attack::default() };
    let window = Window::soon(plan.quiet_secs);
    outcomes.push(
        phase(
            &server,
            &mut crowd,
            &plan,
            ("after", crowd_params),
            window,
            Some(&baseline),
            quiet,
        )
        .await?,
    );
    Ok(outcomes)
}

/// Sends `frame` and waits for the answer `wanted` picks out, retrying while the server says
/// `rate_limited` (for up to [`SETUP_PATIENCE`]); any other refusal is an error.
async fn ask(
    ws: &mut Ws,
    frame: &ClientFrame,
    wanted: impl Fn(&ServerFrame) -> bool,
) -> Result<ServerFrame, String> {
    let deadline = Instant::now() + SETUP_PATIENCE;
    'retry: while Instant::now() < deadline {
        client::send(ws, frame).await?;
        // Other traffic on the socket cannot hold this past the deadline either.
        while Instant::now() < deadline {
            match client::next_frame(ws).await? {
                ServerFrame::Error {
                    code: ErrorCode::RateLimited,
                    ..
                } => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue 'retry;
                }
                ServerFrame::Error { code, message, .. } => {
                    return Err(format!("server refused: {}: {message}", code.as_str()));
                }
                answer if wanted(&answer) => return Ok(answer),
                _ => {}
            }
        }
    }
    Err(format!(
        "no answer but rate_limited within {SETUP_PATIENCE:?}"
    ))
}

/// Creates a room named `name`; its id.
async fn create_room(ws: &mut Ws, name: &str, public: bool) -> Result<ConvId, String> {
    let frame = ClientFrame::CreateRoom {
        name: name.into(),
        public,
    };
    match ask(
        ws,
        &frame,
        |f| matches!(f, ServerFrame::Conversation(c) if c.name == name),
    )
    .await?
    {
        ServerFrame::Conversation(c) => Ok(c.id),
        other => Err(format!("expected the new room, got {other:?}")),
    }
}

/// Joins the public room `conv`.
async fn join(ws: &mut Ws, conv: ConvId) -> Result<(), String> {
    ask(
        ws,
        &ClientFrame::JoinRoom { conv },
        |f| matches!(f, ServerFrame::Conversation(c) if c.id == conv),
    )
    .await
    .map(|_| ())
}
