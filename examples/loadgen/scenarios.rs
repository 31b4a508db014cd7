//! The scenarios: `idle`, `dm`, `room`, `slow`, `drain`, `abuse`, each against a fresh server.

use std::{
    path::PathBuf,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use futures::{StreamExt, stream::SplitSink, stream::SplitStream};
use switchboard::{
    protocol::{ClientFrame, ConvId, ServerFrame, close_code},
    server::accounts::Provisioned,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::{
    client::{self, Client, Counters, Rejoin, Schedule, Seen, Ws},
    report::Outcome,
    server::{ClusterTarget, ServerProcess, Usage},
};

pub const USAGE: &str = "usage: loadgen [--scenario idle|dm|room|slow|drain|abuse|all] [--size tiny|full] \
                         [--rooms 10,100,1000] [--rates 20000,50000] [--server <switchboard binary>] [--json <file>] \
                         [--nodes N --database-url postgres://… --redis-url redis://…]";

/// What to run.
pub struct Options {
    scenarios: Vec<String>,
    /// `--size full` (otherwise tiny).
    pub full: bool,
    /// The switchboard binary to run.
    pub server: PathBuf,
    /// Room sizes for `room` (default: 10, 100 and 1000 in full, 10 in tiny).
    rooms: Option<Vec<usize>>,
    /// Delivery rates for `room`'s steps (default: 100k, 250k, 500k, 750k per second in full).
    rates: Option<Vec<f64>>,
    /// Where to write the results as JSON.
    pub json: Option<PathBuf>,
    /// Cluster mode: nodes sharing this Postgres and Redis; clients spread over the nodes.
    cluster: Option<ClusterTarget>,
}

impl Options {
    /// Parses the command line.
    pub fn from_args(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Options {
            scenarios: vec!["all".into()],
            full: false,
            server: PathBuf::from("target/release/switchboard"),
            json: None,
            rooms: None,
            rates: None,
            cluster: None,
        };
        let (mut nodes, mut database_url, mut redis_url) = (1usize, None, None);
        while let Some(arg) = args.next() {
            let value = args.next().ok_or(format!("{arg} needs a value"))?;
            match arg.as_str() {
                "--scenario" => options.scenarios = value.split(',').map(String::from).collect(),
                "--size" if value == "tiny" || value == "full" => options.full = value == "full",
                "--server" => options.server = PathBuf::from(value),
                "--json" => options.json = Some(PathBuf::from(value)),
                "--nodes" => {
                    nodes = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=16).contains(n))
                        .ok_or(format!("--nodes wants 1 to 16, not {value}"))?;
                }
                "--database-url" => database_url = Some(value),
                "--redis-url" => redis_url = Some(value),
                "--rates" => {
                    let rates: Result<Vec<f64>, _> = value.split(',').map(str::parse).collect();
                    match rates {
                        Ok(rates) if rates.iter().all(|&r| r > 0.0) => options.rates = Some(rates),
                        _ => {
                            return Err(format!(
                                "--rates wants deliveries per second, not {value}"
                            ));
                        }
                    }
                }
                "--rooms" => {
                    let sizes: Result<Vec<usize>, _> = value.split(',').map(str::parse).collect();
                    match sizes {
                        Ok(sizes) if sizes.iter().all(|&s| s >= 2) => options.rooms = Some(sizes),
                        _ => return Err(format!("--rooms wants sizes of 2 or more, not {value}")),
                    }
                }
                _ => return Err(format!("unknown option {arg} {value}")),
            }
        }
        options.cluster = match (database_url, redis_url) {
            (Some(database_url), Some(redis_url)) => Some(ClusterTarget {
                nodes,
                database_url,
                redis_url,
            }),
            (None, None) if nodes == 1 => None,
            _ => return Err("cluster mode needs --database-url and --redis-url".into()),
        };
        if options.scenarios.iter().any(|s| s == "all") {
            options.scenarios = ["idle", "dm", "room", "slow", "drain", "abuse"]
                .map(String::from)
                .to_vec();
        }
        for s in &options.scenarios {
            if !["idle", "dm", "room", "slow", "drain", "abuse"].contains(&s.as_str()) {
                return Err(format!("unknown scenario {s}"));
            }
        }
        Ok(options)
    }
}

/// Runs the chosen scenarios in order.
pub async fn run_all(options: &Options) -> Result<Vec<Outcome>, String> {
    let mut all = Vec::new();
    for scenario in &options.scenarios {
        let outcomes = match scenario.as_str() {
            "idle" => idle(options).await?,
            "dm" => dm(options).await?,
            "room" => room(options).await?,
            "slow" => slow(options).await?,
            "abuse" => crate::abuse::run(options).await?,
            _ => drain(options).await?,
        };
        all.extend(outcomes);
    }
    Ok(all)
}

/// Connects clients `0..accounts.len()`, at most 256 handshakes in flight, with a progress line.
async fn connect_all(
    server: &ServerProcess,
    accounts: &[Provisioned],
    label: &str,
) -> Result<(Vec<Client>, Duration), String> {
    let started = Instant::now();
    let mut clients = Vec::with_capacity(accounts.len());
    let mut pending = futures::stream::iter(accounts.iter().enumerate())
        .map(|(n, account)| client::connect(server.addr_for(n), n, account, false))
        .buffered(256);
    while let Some(client) = pending.next().await {
        clients.push(client?);
        if clients.len() % 1000 == 0 {
            eprint!("\r[{label}] connected {}/{}", clients.len(), accounts.len());
        }
    }
    eprintln!(
        "\r[{label}] connected {} in {:.2?}",
        clients.len(),
        started.elapsed()
    );
    Ok((clients, started.elapsed()))
}

/// `idle`: N connections; connect rate and RSS per connection, sampled as they grow.
async fn idle(options: &Options) -> Result<Vec<Outcome>, String> {
    let n = if options.full { 18_000 } else { 40 };
    let (server, accounts) =
        ServerProcess::start(&options.server, n, &[], options.cluster.as_ref()).await?;
    let before = server.usage();
    let mut clients = Vec::with_capacity(n);
    let mut curve = Vec::new();
    let mut connecting = Duration::ZERO;
    for chunk in accounts.chunks(n.div_ceil(4)) {
        let (more, took) = connect_all(&server, chunk, "idle").await?;
        connecting += took;
        clients.extend(more);
        // Let the server settle before reading its memory.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = server.usage();
        curve.push((clients.len(), now.rss_bytes));
    }
    let connect_secs = connecting.as_secs_f64();
    let after = server.usage();
    let mut outcome = Outcome::new("idle", format!("{n} connections"));
    outcome.connections = clients.len();
    outcome.connects_per_sec = clients.len() as f64 / connect_secs.max(1e-3);
    outcome.set_server(diff(before, after));
    outcome.rss_after = after.rss_bytes;
    outcome.rss_per_connection = after.rss_bytes.saturating_sub(before.rss_bytes) as f64 / n as f64;
    outcome.rss_curve = curve;
    drop(clients);
    Ok(vec![outcome])
}

/// CPU used between two readings, and RSS at the second.
fn diff(before: Usage, after: Usage) -> Usage {
    Usage {
        cpu_secs: after.cpu_secs - before.cpu_secs,
        ..after
    }
}

/// A socket split for one phase: senders take the sink, receivers the stream.
struct Halves {
    sink: Option<SplitSink<Ws, Message>>,
    stream: Option<SplitStream<Ws>>,
    /// How this client reconnects after an eviction.
    rejoin: Rejoin,
    /// What it has of each conversation.
    seen: Seen,
}

/// One measured phase: `senders` each send at `rate_each` to the conversation `conv_of` gives
/// them, for `secs`; every message should reach `fanout` connections. Connections in
/// `not_reading` are not read at all.
struct Phase<'a> {
    name: &'static str,
    params: String,
    senders: Vec<(usize, ConvId)>,
    rate_each: f64,
    secs: f64,
    fanout: u64,
    not_reading: &'a [usize],
    /// A reader that holds off reading this long at the start of the phase (briefly slow).
    pause: Option<(usize, Duration)>,
    body_bytes: usize,
}

async fn run_phase(
    server: &ServerProcess,
    halves: &mut [Halves],
    phase: Phase<'_>,
) -> Result<Outcome, String> {
    let counters = Arc::new(Counters::default());
    let stop = CancellationToken::new();
    let mut readers = Vec::new();
    for (i, h) in halves.iter_mut().enumerate() {
        if phase.not_reading.contains(&i) {
            continue;
        }
        let stream = h.stream.take().ok_or("stream in use")?;
        let pause = match phase.pause {
            Some((who, pause)) if who == i => pause,
            _ => Duration::ZERO,
        };
        let task = tokio::spawn(client::receive(
            stream,
            stop.clone(),
            Arc::clone(&counters),
            std::mem::take(&mut h.seen),
            Some(h.rejoin.clone()),
            pause,
        ));
        readers.push((i, task));
    }
    let before = server.usage();
    let started = Instant::now();
    let start = started + Duration::from_millis(200);
    let until = start + Duration::from_secs_f64(phase.secs);
    let mut writers = Vec::new();
    let phase_id = client::unix_micros();
    let slots = phase.senders.len();
    for (slot, &(i, conv)) in phase.senders.iter().enumerate() {
        let sink = halves[i].sink.take().ok_or("sink in use")?;
        let schedule = Schedule {
            rate: phase.rate_each,
            start,
            until,
            body_bytes: phase.body_bytes,
            slot: (slot, slots),
            phase: phase_id,
        };
        let counters = Arc::clone(&counters);
        writers.push((
            i,
            tokio::spawn(client::send_on_schedule(
                sink,
                i,
                move |_| conv,
                schedule,
                counters,
            )),
        ));
    }
    // Progress while sending, then wait (bounded) for what is in flight.
    let progress = {
        let counters = Arc::clone(&counters);
        let label = format!("{} {}", phase.name, phase.params);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprint!(
                    "\r[{label}] sent {} delivered {}   ",
                    counters.sent.load(Ordering::Relaxed),
                    counters.delivered.load(Ordering::Relaxed)
                );
            }
        })
    };
    let mut lateness = client::new_histogram();
    for (i, task) in writers {
        let (sink, late) = task.await.map_err(|e| e.to_string())?;
        halves[i].sink = Some(sink);
        for sample in late {
            lateness.saturating_record(sample);
        }
    }
    let sent_at_end = counters.sent.load(Ordering::Relaxed);
    let expected = sent_at_end * phase.fanout;
    let drain_deadline = Instant::now() + Duration::from_secs(5);
    while counters.delivered.load(Ordering::Relaxed) < expected && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64() - 0.2;
    let after = server.usage();
    stop.cancel();
    progress.abort();
    let mut histogram = client::new_histogram();
    for (i, task) in readers {
        let received = task.await.map_err(|e| e.to_string())?;
        for sample in received.samples {
            histogram.saturating_record(sample);
        }
        halves[i].stream = Some(received.stream);
        halves[i].seen = received.seen;
        if received.sink.is_some() {
            // It reconnected: the old socket's writing half is dead.
            halves[i].sink = received.sink;
        }
    }
    eprintln!();
    let mut outcome = Outcome::new(phase.name, phase.params);
    outcome.connections = halves.len();
    outcome.sent = sent_at_end;
    outcome.expected = expected;
    outcome.delivered = histogram.len();
    outcome.seconds = elapsed;
    outcome.set_server(diff(before, after));
    outcome.rss_after = after.rss_bytes;
    outcome.set_latency(&histogram);
    outcome.send_lateness_p99_us = lateness.value_at_quantile(0.99);
    outcome.reconnects = counters.reconnects.load(Ordering::Relaxed);
    let duplicates = counters.duplicates.load(Ordering::Relaxed);
    let gaps = counters.gaps.load(Ordering::Relaxed);
    if duplicates > 0 {
        outcome
            .problems
            .push(format!("{duplicates} events delivered twice to one reader"));
    }
    if gaps > 0 {
        outcome
            .problems
            .push(format!("{gaps} seqs skipped: lost or out of order"));
    }
    Ok(outcome)
}

/// Splits each client's socket; `accounts[n]` is client `n`'s account.
fn split(clients: Vec<Client>, server: &ServerProcess, accounts: &[Provisioned]) -> Vec<Halves> {
    clients
        .into_iter()
        .zip(accounts)
        .enumerate()
        .map(|(n, (c, account))| {
            let (sink, stream) = c.ws.split();
            Halves {
                sink: Some(sink),
                stream: Some(stream),
                rejoin: Rejoin {
                    addr: server.addr_for(n),
                    n,
                    account: account.clone(),
                },
                seen: Seen::default(),
            }
        })
        .collect()
}

/// A fixed shuffle (xorshift), so "random pairs" are the same on every run.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    order
}

/// `dm`: random pairs, each sending to the other; the rate rises until p99 passes 10 ms.
async fn dm(options: &Options) -> Result<Vec<Outcome>, String> {
    let (n, rates, secs): (usize, &[f64], f64) = if options.full {
        (
            2_000,
            &[5_000.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0, 60_000.0],
            5.0,
        )
    } else {
        (20, &[100.0, 200.0], 1.0)
    };
    let (server, accounts) =
        ServerProcess::start(&options.server, n, &[], options.cluster.as_ref()).await?;
    let (mut clients, _) = connect_all(&server, &accounts, "dm").await?;
    let order = shuffled(n);
    let mut senders = Vec::with_capacity(n);
    for pair in order.chunks(2) {
        let (a, b) = (pair[0], pair[1]);
        let peer = clients[b].user;
        client::send(&mut clients[a].ws, &ClientFrame::OpenDirect { user: peer }).await?;
        let conv = match client::wait_for(
            &mut clients[a].ws,
            |f| matches!(f, ServerFrame::Conversation(c) if c.peer == Some(peer)),
        )
        .await?
        {
            ServerFrame::Conversation(c) => c.id,
            _ => unreachable!("wait_for returns a match"),
        };
        // The peer learns of it too; wait, so the first measured message is not a gap fill.
        client::wait_for(
            &mut clients[b].ws,
            |f| matches!(f, ServerFrame::Conversation(c) if c.id == conv),
        )
        .await?;
        senders.push((a, conv));
        senders.push((b, conv));
    }
    let mut halves = split(clients, &server, &accounts);
    let mut outcomes = Vec::new();
    for &rate in rates {
        let outcome = run_phase(
            &server,
            &mut halves,
            Phase {
                name: "dm",
                params: format!("{} pairs, {rate} msg/s", n / 2),
                senders: senders.clone(),
                rate_each: rate / n as f64,
                secs,
                // The peer, and the sender's own connection (its echo).
                fanout: 2,
                not_reading: &[],
                pause: None,
                body_bytes: 100,
            },
        )
        .await?;
        let over = outcome.p99_us > 10_000;
        outcomes.push(outcome);
        if over {
            break;
        }
    }
    Ok(outcomes)
}

/// Creates rooms of `size` from consecutive clients: the first creates, the rest join.
async fn make_rooms(clients: &mut [Client], size: usize) -> Result<Vec<ConvId>, String> {
    let mut rooms = Vec::new();
    for (r, members) in clients.chunks_mut(size).enumerate() {
        let (owner, rest) = members.split_first_mut().ok_or("empty room")?;
        let name = format!("bench-{size}-{r}");
        client::send(
            &mut owner.ws,
            &ClientFrame::CreateRoom {
                name: name.clone(),
                public: true,
            },
        )
        .await?;
        let conv = match client::wait_for(
            &mut owner.ws,
            |f| matches!(f, ServerFrame::Conversation(c) if c.name == name),
        )
        .await?
        {
            ServerFrame::Conversation(c) => c.id,
            _ => unreachable!("wait_for returns a match"),
        };
        let joins = rest.iter_mut().map(|member| async move {
            client::send(&mut member.ws, &ClientFrame::JoinRoom { conv }).await?;
            client::wait_for(
                &mut member.ws,
                |f| matches!(f, ServerFrame::Conversation(c) if c.id == conv),
            )
            .await
            .map(|_| ())
        });
        for result in futures::stream::iter(joins)
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await
        {
            result?;
        }
        rooms.push(conv);
    }
    // Every join was announced to every member already in the room: ~size²/2 events per room,
    // still in the members' sockets. Read them all now, or the first measured phase starts
    // behind that backlog and the generator's lag counts as the server's latency.
    let total = clients.len();
    let drains = clients.iter_mut().enumerate().map(|(i, member)| {
        let conv = rooms[i / size];
        // `created` at seq 1, then one join per other member.
        let last_seq = (total - i / size * size).min(size) as i64;
        async move {
            client::wait_for(
                &mut member.ws,
                |f| matches!(f, ServerFrame::Event(e) if e.conv == conv && e.seq.0 >= last_seq),
            )
            .await
            .map(|_| ())
        }
    });
    for result in futures::stream::iter(drains)
        .buffer_unordered(256)
        .collect::<Vec<_>>()
        .await
    {
        result?;
    }
    Ok(rooms)
}

/// `room`: rooms of 10, 100 and 1000 members; each member sends; every message fans out to
/// the whole room. The delivery rate rises until p99 passes 20 ms.
async fn room(options: &Options) -> Result<Vec<Outcome>, String> {
    let (n, sizes, targets, secs): (usize, &[usize], &[f64], f64) = if options.full {
        (
            10_000,
            &[10, 100, 1000],
            &[100_000.0, 250_000.0, 500_000.0, 750_000.0],
            5.0,
        )
    } else {
        (20, &[10], &[2_000.0], 1.0)
    };
    let sizes = options.rooms.as_deref().unwrap_or(sizes);
    let targets = options.rates.as_deref().unwrap_or(targets);
    let mut outcomes = Vec::new();
    for &size in sizes {
        let (server, accounts) =
            ServerProcess::start(&options.server, n, &[], options.cluster.as_ref()).await?;
        let (mut clients, _) = connect_all(&server, &accounts, "room").await?;
        let rooms = make_rooms(&mut clients, size).await?;
        let senders: Vec<(usize, ConvId)> = (0..n).map(|i| (i, rooms[i / size])).collect();
        let mut halves = split(clients, &server, &accounts);
        for &deliveries in targets {
            let messages = deliveries / size as f64;
            let outcome = run_phase(
                &server,
                &mut halves,
                Phase {
                    name: "room",
                    params: format!("{} rooms of {size}, {messages} msg/s", rooms.len()),
                    senders: senders.clone(),
                    rate_each: messages / n as f64,
                    secs,
                    fanout: size as u64,
                    not_reading: &[],
                    pause: None,
                    body_bytes: 100,
                },
            )
            .await?;
            let over = outcome.p99_us > 20_000;
            outcomes.push(outcome);
            if over {
                break;
            }
        }
    }
    Ok(outcomes)
}

/// `slow`: one room; a baseline phase with everyone reading, then one member pauses briefly
/// (it must not be evicted), then one stops reading (it must be evicted, and once it reconnects
/// and resumes it must have everything, once, in order). The others' p99 and the server's RSS
/// should stay flat throughout.
async fn slow(options: &Options) -> Result<Vec<Outcome>, String> {
    let (n, rate, secs, body_bytes, pause) = if options.full {
        (100, 2_000.0, 10.0, 400, Duration::from_secs(2))
    } else {
        (10, 1_000.0, 3.0, 2_000, Duration::from_millis(500))
    };
    // The tiny run's phases last seconds: a 2 s wait budget gets the stalled reader evicted
    // within them (the full run keeps the default, 10 s). Either way the pause is far shorter.
    let slow_client_ms: u64 = if options.full { 10_000 } else { 2_000 };
    let limits = [(
        "SWITCHBOARD_LIMITS_SLOW_CLIENT_MS",
        slow_client_ms.to_string(),
    )];
    let limits: Vec<(&str, &str)> = limits.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (server, accounts) =
        ServerProcess::start(&options.server, n, &limits, options.cluster.as_ref()).await?;
    let (mut clients, _) = connect_all(&server, &accounts[1..], "slow").await?;
    // Client 0 (the slow one) has a tiny receive buffer, so it backs up at once.
    let slowpoke = client::connect(server.addr, 0, &accounts[0], true).await?;
    clients.insert(0, slowpoke);
    let rooms = make_rooms(&mut clients, n).await?;
    let senders: Vec<(usize, ConvId)> = (1..n).map(|i| (i, rooms[0])).collect();
    let mut halves = split(clients, &server, &accounts);
    // The slow one is always on the first node (it connected to `server.addr`).
    halves[0].rejoin.addr = server.addr;
    let phase = |name: &'static str, not_reading: &'static [usize], pause| Phase {
        name,
        params: format!("room of {n}, {rate} msg/s"),
        senders: senders.clone(),
        rate_each: rate / (n - 1) as f64,
        secs,
        // Everyone in the room who reads, the sender's own connection included.
        fanout: (n - not_reading.len()) as u64,
        not_reading,
        pause,
        body_bytes,
    };
    let baseline = run_phase(&server, &mut halves, phase("slow: all reading", &[], None)).await?;
    let mut paused = run_phase(
        &server,
        &mut halves,
        phase("slow: one paused", &[], Some((n - 1, pause))),
    )
    .await?;
    paused.p99_ratio = Some(paused.p99_us as f64 / baseline.p99_us.max(1) as f64);
    if paused.reconnects > 0 {
        paused.problems.push(format!(
            "a reader paused for {pause:?} was evicted (wait budget {slow_client_ms} ms)"
        ));
    }
    let evictions_before = server.metric("switchboard_evictions_total").await;
    let mut stalled =
        run_phase(&server, &mut halves, phase("slow: one stalled", &[0], None)).await?;
    stalled.p99_ratio = Some(stalled.p99_us as f64 / baseline.p99_us.max(1) as f64);
    // The server evicts the stalled reader once its oldest frame has waited past the budget;
    // wait for that (bounded) before reading, since reading would un-stall it.
    let deadline = Instant::now() + Duration::from_millis(slow_client_ms) + Duration::from_secs(20);
    let mut evicted = false;
    while Instant::now() < deadline {
        if server.metric("switchboard_evictions_total").await > evictions_before {
            evicted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stalled.evicted = Some(evicted);
    if !evicted {
        stalled
            .problems
            .push("the stalled reader was not evicted".into());
    }
    // It reads again: its backlog, the end of its connection, then a reconnect and `resume`
    // that must bring exactly what it lacks.
    let counters = Counters::default();
    let mut seen = std::mem::take(&mut halves[0].seen);
    let mut stream = halves[0].stream.take().ok_or("stream in use")?;
    let read_deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < read_deadline {
        match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Some((conv, seq)) = client::event_position(text.as_str()) {
                    seen.take(conv, seq, &counters);
                }
            }
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => break,
            Ok(Some(Ok(_))) => {}
            Err(_) => {
                stalled
                    .problems
                    .push("the evicted reader's connection did not end".into());
                break;
            }
        }
    }
    let mut ws = client::reconnect(&halves[0].rejoin, &mut seen).await?;
    // However much the replay holds, it ends within a minute.
    let synced_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(synced_deadline.into(), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let text = text.as_str();
                if let Some((conv, seq)) = client::event_position(text) {
                    seen.take(conv, seq, &counters);
                } else if text.contains("\"type\":\"synced\"") {
                    break;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => return Err(format!("the resumed reader's socket: {other:?}")),
        }
    }
    let room = rooms[0];
    let newest = halves[1..]
        .iter()
        .map(|h| h.seen.last(room))
        .max()
        .unwrap_or(0);
    let had = seen.last(room);
    if had != newest {
        stalled.problems.push(format!(
            "after resuming, the evicted reader has seq {had} of {newest}"
        ));
    }
    for (what, count) in [
        ("duplicates", counters.duplicates.load(Ordering::Relaxed)),
        ("skipped seqs", counters.gaps.load(Ordering::Relaxed)),
    ] {
        if count > 0 {
            stalled
                .problems
                .push(format!("the evicted reader saw {count} {what}"));
        }
    }
    Ok(vec![baseline, paused, stalled])
}

/// `drain`: N open sockets, then SIGTERM. Every socket should get a `reconnect` frame and close
/// 1001 (going away), and the process should exit 0 well within its grace period.
async fn drain(options: &Options) -> Result<Vec<Outcome>, String> {
    let n = if options.full { 1_000 } else { 50 };
    let (mut server, accounts) =
        ServerProcess::start(&options.server, n, &[], options.cluster.as_ref()).await?;
    let (clients, took) = connect_all(&server, &accounts, "drain").await?;
    let before = server.usage();
    let watchers: Vec<_> = clients
        .into_iter()
        .map(|client| {
            tokio::spawn(async move {
                let mut ws = client.ws;
                let mut told = false;
                // Bounded as a whole, not per frame: a chatty socket cannot keep it going.
                let deadline = Instant::now() + Duration::from_secs(90);
                loop {
                    match tokio::time::timeout_at(deadline.into(), ws.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => {
                            told |= text.as_str().contains("\"type\":\"reconnect\"");
                        }
                        Ok(Some(Ok(Message::Close(frame)))) => {
                            let code = frame.map(|f| u16::from(f.code));
                            return told && code == Some(close_code::GOING_AWAY);
                        }
                        Ok(Some(Ok(_))) => {}
                        _ => return false,
                    }
                }
            })
        })
        .collect();
    let (exit_after, clean) = server.terminate(Duration::from_secs(60)).await?;
    let mut goodbyes = 0;
    for watcher in watchers {
        if watcher.await.map_err(|e| e.to_string())? {
            goodbyes += 1;
        }
    }
    let mut outcome = Outcome::new("drain", format!("{n} sockets, SIGTERM"));
    outcome.connections = n;
    outcome.connects_per_sec = n as f64 / took.as_secs_f64().max(1e-3);
    outcome.rss_after = before.rss_bytes;
    outcome.drain_ms = Some(exit_after.as_secs_f64() * 1000.0);
    outcome.goodbyes = Some(goodbyes);
    if !clean {
        outcome.problems.push("the server did not exit 0".into());
    }
    if goodbyes != n {
        outcome.problems.push(format!(
            "{} of {n} sockets got no reconnect + 1001",
            n - goodbyes
        ));
    }
    Ok(vec![outcome])
}
