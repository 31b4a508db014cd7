//! Attacks on the listener: a connection flood, slowloris heads and bodies, and the `/healthz`
//! probe that shows whether the server still answers meanwhile.
//!
//! Every attacking socket runs on its own task and ends in one [`Fate`]: refused, closed (or
//! answered, which ends it too) by the server before the phase ended, or still held at the end.
//! Attackers use source addresses of their own (127.0.1.1 and 127.0.2–5.x), apart from the crowd's
//! 127.0.0.x and the probe's 127.0.0.1, so a per-address cap on them refuses only them.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use futures::StreamExt;
use switchboard::server::accounts::Provisioned;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    runtime::{Builder, Handle, Runtime},
    sync::Semaphore,
    task::JoinSet,
};

use super::{Attack, HEALTH_LIMIT, Window};
use crate::client::{self, Ws};

/// How long one TCP connect (or WebSocket handshake) may take before it counts as refused.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects in flight at once: more only overflow the listen backlog, which then looks like a
/// refusal the server never made.
const CONNECTS_IN_FLIGHT: usize = 128;

/// The runtime the attacking sockets run on: a thread of their own, as they would be another
/// machine's. Spawned on the crowd's runtime, thousands of connect tasks queue ahead of the
/// crowd's readers, and the crowd's latency then measures the generator, not the server.
fn attackers() -> Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("attackers")
                .enable_all()
                .build()
                .expect("the attackers' runtime starts")
        })
        .handle()
        .clone()
}

/// The one source address most of the flood's idle connections share.
const ONE_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 1, 1);

/// How one attacking socket ended. The discriminant indexes the counter names of its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// The connection (or the WebSocket upgrade) was refused or timed out.
    Refused = 0,
    /// The server closed it, or answered it (408, 413, 429, 503 all end it), before the end.
    Closed = 1,
    /// Still open when the phase ended.
    Held = 2,
}

/// Counter names by [`Fate`], one array per group of sockets.
type Names = [&'static str; 3];

/// Idle TCP connections.
const TCP: Names = ["tcp_refused", "tcp_closed", "tcp_held"];
/// WebSocket upgrades with one user's token.
const WS: Names = ["ws_refused", "ws_closed", "ws_held"];
/// Request heads sent a byte a second.
const HEAD: Names = ["head_refused", "head_closed", "head_held"];
/// Bodies declared larger than the server takes, sent a byte a second.
const BODY_100K: Names = ["body100k_refused", "body100k_closed", "body100k_held"];
/// Bodies under the server's size cap, so only a body timeout ends them.
const BODY_60K: Names = ["body60k_refused", "body60k_closed", "body60k_held"];

/// The request head that never ends: one more header byte a second.
const SLOW_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/// Source address `i` of a spread over 127.0.`net`.1–254.
fn spread(net: u8, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, net, 1 + (i % 254) as u8)
}

/// Connects from `source` within [`CONNECT_TIMEOUT`].
async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::from((source, 0))).ok()?;
    tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(addr))
        .await
        .ok()?
        .ok()
}

/// Holds an idle connection until the server closes or answers it, or `until`.
async fn hold(mut stream: TcpStream, until: Instant) -> Fate {
    let mut buf = [0u8; 512];
    match tokio::time::timeout_at(until.into(), stream.read(&mut buf)).await {
        Ok(_) => Fate::Closed,
        Err(_) => Fate::Held,
    }
}

/// Holds an upgraded WebSocket, reading (and dropping) what it is sent, until the server closes
/// it or `until`.
async fn hold_ws(mut ws: Ws, until: Instant) -> Fate {
    loop {
        match tokio::time::timeout_at(until.into(), ws.next()).await {
            Err(_) => return Fate::Held,
            Ok(Some(Ok(message))) if !message.is_close() => {}
            Ok(_) => return Fate::Closed,
        }
    }
}

/// Sends `head`, then one byte a second, until the server closes or answers the connection,
/// or `until`.
async fn trickle(mut stream: TcpStream, head: Vec<u8>, until: Instant) -> Fate {
    let (mut reader, mut writer) = stream.split();
    if writer.write_all(&head).await.is_err() {
        return Fate::Closed;
    }
    let mut buf = [0u8; 512];
    let second = Duration::from_secs(1);
    let mut tick = tokio::time::interval_at((Instant::now() + second).into(), second);
    let end = tokio::time::sleep_until(until.into());
    tokio::pin!(end);
    loop {
        tokio::select! {
            _ = reader.read(&mut buf) => return Fate::Closed,
            _ = tick.tick() => {
                if writer.write_all(b"a").await.is_err() {
                    return Fate::Closed;
                }
            }
            () = &mut end => return Fate::Held,
        }
    }
}

/// Counts every task's fate under its group's names; every name of `groups` is listed, so a
/// zero shows as a zero rather than as missing.
async fn tally(groups: &[Names], mut tasks: JoinSet<(Names, Fate)>, attack: &mut Attack) {
    for name in groups.iter().flatten() {
        attack.count(name, 0);
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((names, fate)) => attack.count(names[fate as usize], 1),
            Err(err) => attack
                .problems
                .push(format!("an attack task failed: {err}")),
        }
    }
}

/// `connection flood`: `tcp` idle TCP connections (a quarter from spread addresses, the rest
/// from one) and `ws` WebSocket upgrades with `hog`'s token, held through `window`, while
/// `/healthz` is probed every second.
pub async fn flood(
    addr: SocketAddr,
    hog: &Provisioned,
    hog_n: usize,
    (tcp, ws): (usize, usize),
    window: Window,
) -> Attack {
    let mut attack = Attack {
        sockets: (tcp + ws) as u64,
        ..Attack::default()
    };
    tokio::time::sleep_until(window.start.into()).await;
    let gate = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let until = window.until;
    let mut tasks = JoinSet::new();
    let runtime = attackers();
    for i in 0..tcp {
        let source = if i < tcp / 4 {
            spread(2, i)
        } else {
            ONE_ADDRESS
        };
        let gate = Arc::clone(&gate);
        tasks.spawn_on(
            async move {
                let permit = gate.acquire_owned().await;
                let stream = connect_from(source, addr).await;
                drop(permit);
                match stream {
                    Some(stream) => (TCP, hold(stream, until).await),
                    None => (TCP, Fate::Refused),
                }
            },
            &runtime,
        );
    }
    for i in 0..ws {
        let gate = Arc::clone(&gate);
        let hog = hog.clone();
        tasks.spawn_on(
            async move {
                let permit = gate.acquire_owned().await;
                let connect = client::connect(addr, hog_n + i, &hog, false);
                let upgraded = tokio::time::timeout(CONNECT_TIMEOUT, connect).await;
                drop(permit);
                match upgraded {
                    Ok(Ok(client)) => (WS, hold_ws(client.ws, until).await),
                    Ok(Err(_)) | Err(_) => (WS, Fate::Refused),
                }
            },
            &runtime,
        );
    }
    let (health, ()) = tokio::join!(
        watch_health(addr, window),
        tally(&[TCP, WS], tasks, &mut attack)
    );
    health.record(&mut attack);
    if health.failed > 0 {
        attack.problems.push(format!(
            "/healthz did not answer within {HEALTH_LIMIT:?} {} of {} times during the flood",
            health.failed,
            health.failed + health.ok
        ));
    }
    attack
}

/// `slowloris`: `n` sockets of each kind, trickling a byte a second through `window`: request
/// heads that never end, and bodies (declared 100,000 bytes, over the server's 64 KiB cap, and
/// 60,000, under it) that never finish. `/healthz` is probed meanwhile; reported, not checked.
pub async fn slowloris(addr: SocketAddr, n: usize, window: Window) -> Attack {
    let mut attack = Attack {
        sockets: 3 * n as u64,
        ..Attack::default()
    };
    tokio::time::sleep_until(window.start.into()).await;
    let body_head = |length: usize| {
        format!(
            "POST /api/register HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
        )
        .into_bytes()
    };
    let groups = [
        (HEAD, 3, SLOW_HEAD.to_vec()),
        (BODY_100K, 4, body_head(100_000)),
        (BODY_60K, 5, body_head(60_000)),
    ];
    let gate = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let until = window.until;
    let mut tasks = JoinSet::new();
    let runtime = attackers();
    for (names, net, head) in groups {
        for i in 0..n {
            let gate = Arc::clone(&gate);
            let head = head.clone();
            tasks.spawn_on(
                async move {
                    let permit = gate.acquire_owned().await;
                    let stream = connect_from(spread(net, i), addr).await;
                    drop(permit);
                    match stream {
                        Some(stream) => (names, trickle(stream, head, until).await),
                        None => (names, Fate::Refused),
                    }
                },
                &runtime,
            );
        }
    }
    let (health, ()) = tokio::join!(
        watch_health(addr, window),
        tally(&[HEAD, BODY_100K, BODY_60K], tasks, &mut attack)
    );
    health.record(&mut attack);
    attack
}

/// What the `/healthz` probes found.
#[derive(Debug, Default)]
struct Health {
    /// Probes answered 200 within [`HEALTH_LIMIT`].
    ok: u64,
    /// Probes that were not.
    failed: u64,
    /// The slowest answer.
    slowest: Duration,
}

impl Health {
    /// Adds the probes' counters to `attack`.
    fn record(&self, attack: &mut Attack) {
        attack.count("healthz_ok", self.ok);
        attack.count("healthz_failed", self.failed);
        attack.count("healthz_max_ms", self.slowest.as_millis() as u64);
    }
}

/// Probes `/healthz` once a second through `window`.
async fn watch_health(addr: SocketAddr, window: Window) -> Health {
    let mut health = Health::default();
    let mut tick = tokio::time::interval_at(window.start.into(), Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < window.until {
        tick.tick().await;
        match healthz(addr).await {
            Some(took) => {
                health.ok += 1;
                health.slowest = health.slowest.max(took);
            }
            None => health.failed += 1,
        }
    }
    health
}

/// GETs `/healthz` over a fresh connection from 127.0.0.1: how long the 200 took, or `None` if
/// it did not come within [`HEALTH_LIMIT`].
async fn healthz(addr: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let probe = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(
                format!(
                    "GET /healthz HTTP/1.0\r\nAuthorization: Bearer {}\r\n\r\n",
                    crate::server::ADMIN_TOKEN
                )
                .as_bytes(),
            )
            .await
            .ok()?;
        let mut status = [0u8; 12];
        stream.read_exact(&mut status).await.ok()?;
        status.ends_with(b"200").then_some(())
    };
    match tokio::time::timeout(HEALTH_LIMIT, probe).await {
        Ok(Some(())) => Some(started.elapsed()),
        Ok(None) | Err(_) => None,
    }
}
