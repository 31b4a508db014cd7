//! Cluster mode with every part real: a throwaway Postgres and Redis from Debian's packages and
//! three switchboard node processes on loopback, spoken to over real WebSockets. Users on
//! different nodes exchange messages; nodes are killed with SIGKILL; Redis is restarted and
//! Postgres stopped mid-stream. Every receiver must see every acked message exactly once, in
//! the store's order.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/http.rs"]
mod http;

use http::register;
use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use switchboard::{
    client::{Outbox, Session, Target, Tracker},
    devkit::{Node, PgServer, RedisServer, Spawn},
    protocol::{
        self, ClientFrame, ClientMsgId, ConvId, Cursor, ErrorCode, EventBody, Seq, ServerFrame,
        UserId,
    },
};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const ORIGIN: &str = http::ORIGIN;
/// Presence TTL the test nodes run with.
const PRESENCE_TTL_MS: u64 = 2_000;

/// Postgres, Redis and the nodes.
struct Cluster {
    pg: PgServer,
    redis: RedisServer,
    nodes: Vec<Option<Node>>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start(nodes: usize) -> Self {
        let mut cluster = Self {
            pg: PgServer::start().await,
            redis: RedisServer::start(),
            nodes: Vec::new(),
            _dir: tempfile::tempdir().unwrap(),
        };
        for _ in 0..nodes {
            cluster.add_node();
        }
        cluster.wait_for_peers().await;
        cluster
    }

    /// Starts another node; returns its index.
    fn add_node(&mut self) -> usize {
        let index = self.nodes.len();
        let node = spawn_node(
            self._dir.path(),
            (&self.pg.url, &self.redis.url),
            index,
            |_| {},
        );
        self.nodes.push(Some(node));
        index
    }
}

/// Starts node `index` on the given Postgres and Redis and waits for its `listening` line;
/// `seen` gets every line before it.
fn spawn_node(
    dir: &std::path::Path,
    (database_url, redis_url): (&str, &str),
    index: usize,
    seen: impl FnMut(&str),
) -> Node {
    Spawn::new(BIN, dir)
        .env("RUST_LOG", "info")
        .env("SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_DATABASE_URL", database_url)
        .env("SWITCHBOARD_CLUSTER_REDIS_URL", redis_url)
        .env("SWITCHBOARD_CLUSTER_NODE_ID", format!("node{index}"))
        .env(
            "SWITCHBOARD_CLUSTER_PRESENCE_TTL_MS",
            PRESENCE_TTL_MS.to_string(),
        )
        .env("SWITCHBOARD_CLUSTER_SWEEP_MS", "500")
        .env("SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS", ORIGIN)
        .env("SWITCHBOARD_SERVER_ADMIN_TOKEN", http::ADMIN_TOKEN)
        .env("SWITCHBOARD_LIMITS_MESSAGES_PER_SECOND", "100000")
        .env("SWITCHBOARD_LIMITS_OUTBOUND_BYTES", "268435456")
        .env("SWITCHBOARD_AUTH_LOGIN_ATTEMPTS_PER_ADDRESS", "100000")
        .start_watching(seen)
        .unwrap_or_else(|err| panic!("node{index} did not start: {err}"))
}

impl Cluster {
    fn addr(&self, node: usize) -> &str {
        &self.nodes[node].as_ref().expect("node is running").addr
    }

    /// SIGKILL: no goodbye to anyone.
    fn kill(&mut self, node: usize) {
        let mut node = self.nodes[node].take().expect("node is running");
        node.kill();
    }

    /// Waits until every running node is ready and knows every other one.
    async fn wait_for_peers(&self) {
        let running = self.nodes.iter().flatten().count();
        for node in self.nodes.iter().flatten() {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let ready = status(&node.addr, "/readyz").await == 200;
                let peers = metric(&node.addr, "switchboard_cluster_peers").await;
                if ready && peers == Some((running - 1) as f64) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{}: ready={ready} peers={peers:?}",
                    node.addr
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A direct conversation between a sender on node 0 and a receiver on node 1.
struct Pair {
    sender: Device,
    receiver: Device,
    conv: ConvId,
    /// The sender's and the receiver's session cookies.
    cookies: (String, String),
}

impl Cluster {
    /// Registers two users, connects the first on node 0 and the second on node 1, and opens
    /// their direct conversation.
    async fn direct_pair(&self, sender_name: &str, receiver_name: &str) -> Pair {
        let (cookie_s, _) = register(self.addr(0), sender_name).await;
        let (cookie_r, r) = register(self.addr(1), receiver_name).await;
        let mut sender = Device::open(self.addr(0), &cookie_s, vec![]).await;
        let mut receiver = Device::open(self.addr(1), &cookie_r, vec![]).await;
        // One Postgres, one epoch: nodes that settled it together agree on it.
        assert!(sender.epoch.is_some());
        assert_eq!(
            sender.epoch, receiver.epoch,
            "nodes announce one store epoch"
        );
        sender.send(&ClientFrame::OpenDirect { user: r }).await;
        let conv = sender.conversation().await;
        receiver.conversation().await;
        Pair {
            sender,
            receiver,
            conv,
            cookies: (cookie_s, cookie_r),
        }
    }
}

async fn status(addr: &str, path: &str) -> u16 {
    match http::admin_get(addr, path).await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

/// A metric's value from a node's `/metrics`.
async fn metric(addr: &str, name: &str) -> Option<f64> {
    let text = http::admin_get(addr, "/metrics")
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// A device: one resumed session (`switchboard::client`), and what it has received.
struct Device {
    session: Session,
    /// Message events received, per conversation: seq → body.
    got: HashMap<ConvId, BTreeMap<i64, String>>,
    /// Message events received more than once.
    duplicates: usize,
    /// Conversations announced.
    conversations: Vec<ConvId>,
    /// Presence edges received, in order.
    presence: Vec<(UserId, bool)>,
    /// The store epoch its node's hello announced.
    epoch: Option<protocol::Epoch>,
    /// The latest block list received.
    blocks: Option<Vec<UserId>>,
}

impl Device {
    /// Opens `/ws` on `addr` with `cookie` and resumes from `cursors`.
    async fn open(addr: &str, cookie: &str, cursors: Vec<Cursor>) -> Self {
        let mut tracker = Tracker::new();
        for cursor in cursors {
            tracker.set(cursor.conv, cursor.seq);
        }
        let target = Target::new(addr).origin(ORIGIN).cookie(cookie);
        let mut session = Session::connect_with(&target, tracker, Outbox::new("cluster"))
            .await
            .unwrap();
        session.set_timeout(Duration::from_secs(20));
        let mut device = Self {
            epoch: Some(session.epoch().clone()),
            session,
            got: HashMap::new(),
            duplicates: 0,
            conversations: Vec::new(),
            presence: Vec::new(),
            blocks: None,
        };
        device.until(|f| matches!(f, ServerFrame::Synced {})).await;
        device
    }

    /// Takes over what an earlier connection of the same client received (a reconnect).
    fn absorb(&mut self, earlier: Device) {
        self.duplicates += earlier.duplicates;
        for (conv, events) in earlier.got {
            let mine = self.got.entry(conv).or_default();
            for (seq, body) in events {
                if mine.insert(seq, body).is_some() {
                    self.duplicates += 1;
                }
            }
        }
    }

    /// Resume cursors for everything received so far (what a reconnecting client sends).
    fn cursors(&self) -> Vec<Cursor> {
        self.session.tracker().cursors()
    }

    async fn send(&mut self, frame: &ClientFrame) {
        self.session.send_frame(frame).await.unwrap();
    }

    /// Sends a message without waiting for its ack.
    async fn post_nowait(&mut self, conv: ConvId, id: &str, body: &str) {
        self.send(&ClientFrame::Send {
            client_msg_id: ClientMsgId(id.to_owned()),
            conv,
            body: body.to_owned(),
            reply_to: None,
        })
        .await;
    }

    /// Reads one frame (20 s at most), recording what it carries.
    async fn next(&mut self) -> ServerFrame {
        let frame = self
            .session
            .recv()
            .await
            .expect("a frame within 20 s")
            .frame;
        match &frame {
            ServerFrame::Event(event) => {
                if let EventBody::Message { body, .. } = &event.body {
                    let got = self.got.entry(event.conv).or_default();
                    if got.insert(event.seq.0, body.clone()).is_some() {
                        self.duplicates += 1;
                    }
                }
            }
            ServerFrame::Conversation(summary) => self.conversations.push(summary.id),
            ServerFrame::Presence { user, online } => self.presence.push((*user, *online)),
            ServerFrame::Blocks { users } => self.blocks = Some(users.clone()),
            _ => {}
        }
        frame
    }

    /// Reads until `done` matches; returns the frames read.
    async fn until(&mut self, done: impl Fn(&ServerFrame) -> bool) -> Vec<ServerFrame> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await;
            let stop = done(&frame);
            frames.push(frame);
            if stop {
                return frames;
            }
        }
    }

    /// Reads until `conv` holds message seqs `1..=last` without a hole (20 s per frame).
    async fn until_complete(&mut self, conv: ConvId, count: usize) {
        while self.got.get(&conv).map_or(0, BTreeMap::len) < count {
            self.next().await;
        }
    }

    /// Sends a message and waits for its ack; returns its seq.
    async fn post(&mut self, conv: ConvId, id: &str, body: &str) -> Seq {
        self.post_nowait(conv, id, body).await;
        let frames = self
            .until(|f| matches!(f, ServerFrame::Ack { client_msg_id, .. } if client_msg_id.0 == id))
            .await;
        match frames.last() {
            Some(ServerFrame::Ack { seq, .. }) => *seq,
            other => panic!("expected an ack, got {other:?}"),
        }
    }

    /// The newest conversation announced.
    async fn conversation(&mut self) -> ConvId {
        let before = self.conversations.len();
        while self.conversations.len() == before {
            self.next().await;
        }
        *self.conversations.last().unwrap()
    }
}

/// Asserts that `got` is exactly the seqs `1..=n` (messages only; the room's first event is its
/// `created` event, so message seqs start after `offset`).
fn assert_contiguous(got: &BTreeMap<i64, String>, offset: i64, n: usize, who: &str) {
    let seqs: Vec<i64> = got.keys().copied().collect();
    let want: Vec<i64> = (offset + 1..=offset + n as i64).collect();
    assert_eq!(
        seqs,
        want,
        "{who}: seqs not exactly {}..={}",
        offset + 1,
        offset + n as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_on_different_nodes_see_one_order_and_every_tab_gets_everything() {
    let cluster = Cluster::start(3).await;
    let (cookie_a, a) = register(cluster.addr(0), "ann").await;
    let (cookie_b, b) = register(cluster.addr(1), "bob").await;
    let (cookie_c, c) = register(cluster.addr(2), "cat").await;

    // Ann has a tab on node 0 and one on node 1; Bob is on node 1, Cat on node 2.
    let mut a0 = Device::open(cluster.addr(0), &cookie_a, vec![]).await;
    let mut a1 = Device::open(cluster.addr(1), &cookie_a, vec![]).await;
    let mut bd = Device::open(cluster.addr(1), &cookie_b, vec![]).await;
    let mut cd = Device::open(cluster.addr(2), &cookie_c, vec![]).await;

    // A direct conversation across nodes: Cat (node 2) opens it with Ann; both of Ann's tabs
    // learn of it.
    cd.send(&ClientFrame::OpenDirect { user: a }).await;
    let direct = cd.conversation().await;
    assert_eq!(a0.conversation().await, direct);
    assert_eq!(a1.conversation().await, direct);
    cd.post(direct, "hello-ann", "hi Ann, from node 2").await;
    a0.until_complete(direct, 1).await;
    a1.until_complete(direct, 1).await;
    assert_eq!(a0.got[&direct][&1], "hi Ann, from node 2");

    // A room with all three, created on node 0, joined from nodes 1 and 2.
    a0.send(&ClientFrame::CreateRoom {
        name: "everyone".into(),
        public: true,
    })
    .await;
    let room = a0.conversation().await;
    bd.send(&ClientFrame::JoinRoom { conv: room }).await;
    cd.send(&ClientFrame::JoinRoom { conv: room }).await;
    // created (1), two joins (2, 3): wait until both joins reached Ann's node-1 tab.
    let joins = |frames: &[ServerFrame]| {
        frames
            .iter()
            .filter(
                |f| matches!(f, ServerFrame::Event(e) if matches!(e.body, EventBody::Joined {})),
            )
            .count()
    };
    let mut seen = 0;
    while seen < 2 {
        let frame = a1.next().await;
        seen += joins(std::slice::from_ref(&frame));
    }
    let _ = (b, c);

    // Everyone sends at once from three nodes.
    const EACH: usize = 60;
    let mut senders = Vec::new();
    for (device, tag) in [(a0, "a"), (bd, "b"), (cd, "c")] {
        senders.push(tokio::spawn(async move {
            let mut device = device;
            for i in 0..EACH {
                device
                    .post_nowait(room, &format!("{tag}{i}"), &format!("{tag} {i}"))
                    .await;
            }
            device.until_complete(room, EACH * 3).await;
            device
        }));
    }
    let mut devices = Vec::new();
    for sender in senders {
        devices.push(sender.await.unwrap());
    }
    a1.until_complete(room, EACH * 3).await;
    devices.push(a1);

    // One order for everyone: the store's. Contiguous seqs after the three membership events,
    // identical on every device, each sender's messages in the order sent, nothing twice.
    let reference = devices[0].got[&room].clone();
    for (i, device) in devices.iter().enumerate() {
        let got = &device.got[&room];
        assert_contiguous(got, 3, EACH * 3, &format!("device {i}"));
        assert_eq!(got, &reference, "device {i} saw another order");
        assert_eq!(device.duplicates, 0, "device {i} got duplicates");
    }
    for tag in ["a", "b", "c"] {
        let order: Vec<usize> = reference
            .values()
            .filter_map(|body| body.strip_prefix(&format!("{tag} ")))
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(
            order,
            (0..EACH).collect::<Vec<_>>(),
            "{tag}'s messages out of order"
        );
    }

    // Reading on one tab moves the other tab's read position, across nodes.
    let mut a0 = devices.remove(0);
    a0.send(&ClientFrame::Read {
        conv: room,
        seq: Seq(10),
    })
    .await;
    let mut a1 = devices.pop().unwrap();
    a1.until(|f| matches!(f, ServerFrame::ReadState { conv, seq } if *conv == room && seq.0 == 10))
        .await;

    // Every node reports its two peers, and how late what it heard on the bus was.
    for node in 0..3 {
        let addr = cluster.addr(node);
        assert_eq!(metric(addr, "switchboard_cluster_peers").await, Some(2.0));
        let heard = metric(addr, "switchboard_bus_lag_seconds_count")
            .await
            .unwrap();
        let lag = metric(addr, "switchboard_bus_lag_seconds_sum")
            .await
            .unwrap();
        assert!(heard > 0.0, "node {node} heard nothing on the bus");
        eprintln!(
            "node {node}: {heard} bus messages, mean lag {:.2} ms",
            lag / heard * 1e3
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_stream_loses_no_acked_message_and_duplicates_none() {
    const SENT: usize = 1200;
    let mut cluster = Cluster::start(3).await;
    // The sender is on node 0, the receiver on node 1.
    let pair = cluster.direct_pair("sender", "receiver").await;
    let (mut sender, mut receiver, conv) = (pair.sender, pair.receiver, pair.conv);
    let (cookie_s, cookie_r) = (pair.cookies.0, pair.cookies.1);

    // Stream; kill node 0 (the sender's) once a third is acked.
    let mut acked: HashMap<String, i64> = HashMap::new();
    for i in 0..SENT {
        sender
            .post_nowait(conv, &format!("m{i}"), &format!("m {i}"))
            .await;
    }
    let kill_at = SENT / 3;
    loop {
        let frame = sender.next().await;
        if let ServerFrame::Ack {
            client_msg_id, seq, ..
        } = frame
        {
            acked.insert(client_msg_id.0, seq.0);
            if acked.len() >= kill_at {
                break;
            }
        }
    }
    cluster.kill(0);

    // The sender reconnects to node 2 and sends again everything it has no ack for, with the
    // same ids (what the browser's outbox does).
    let mut sender = Device::open(cluster.addr(2), &cookie_s, sender.cursors()).await;
    for i in 0..SENT {
        let id = format!("m{i}");
        if !acked.contains_key(&id) {
            sender.post_nowait(conv, &id, &format!("m {i}")).await;
        }
    }
    while acked.len() < SENT {
        if let ServerFrame::Ack {
            client_msg_id, seq, ..
        } = sender.next().await
        {
            acked.insert(client_msg_id.0, seq.0);
        }
    }
    // Half-way through the receiver's stream, its node dies too: it resumes on node 2.
    while receiver.got.get(&conv).map_or(0, BTreeMap::len) < SENT / 2 {
        receiver.next().await;
    }
    cluster.kill(1);
    let mut resumed = Device::open(cluster.addr(2), &cookie_r, receiver.cursors()).await;
    resumed.absorb(receiver);
    resumed.until_complete(conv, SENT).await;

    // Every message once, at the seq its ack named, in the order sent.
    let got = &resumed.got[&conv];
    assert_contiguous(got, 0, SENT, "receiver");
    assert_eq!(resumed.duplicates, 0);
    for (id, seq) in &acked {
        let i: usize = id[1..].parse().unwrap();
        assert_eq!(got[seq], format!("m {i}"), "ack for {id} named seq {seq}");
    }
    let order: Vec<usize> = got.values().map(|b| b[2..].parse().unwrap()).collect();
    assert_eq!(order, (0..SENT).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_stream_loses_nothing() {
    const SENT: usize = 600;
    let mut cluster = Cluster::start(2).await;
    // The sender is on node 0, the receiver on node 1.
    let pair = cluster.direct_pair("talker", "listener").await;
    let (mut sender, mut receiver, conv) = (pair.sender, pair.receiver, pair.conv);

    // A third of the stream, then Redis goes away for a second while the sender keeps going.
    for i in 0..SENT / 3 {
        sender.post(conv, &format!("r{i}"), &format!("r {i}")).await;
    }
    cluster.redis.stop();
    for i in SENT / 3..2 * SENT / 3 {
        // Stored and acked by Postgres with the bus down: the ack does not wait for Redis.
        sender.post(conv, &format!("r{i}"), &format!("r {i}")).await;
    }
    assert_eq!(
        status(cluster.addr(0), "/readyz").await,
        503,
        "ready without Redis"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.redis.restart();
    for i in 2 * SENT / 3..SENT {
        sender.post(conv, &format!("r{i}"), &format!("r {i}")).await;
    }
    receiver.until_complete(conv, SENT).await;
    assert_contiguous(&receiver.got[&conv], 0, SENT, "receiver");
    assert_eq!(receiver.duplicates, 0);
    cluster.wait_for_peers().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_gives_a_typed_try_again_and_nothing_half_written() {
    let mut cluster = Cluster::start(2).await;
    // The sender is on node 0, the receiver on node 1.
    let pair = cluster.direct_pair("writer", "reader").await;
    let (mut sender, mut receiver, conv) = (pair.sender, pair.receiver, pair.conv);
    sender.post(conv, "before", "before the outage").await;

    cluster.pg.stop();
    sender
        .post_nowait(conv, "during", "during the outage")
        .await;
    let frames = sender
        .until(|f| matches!(f, ServerFrame::Error { .. } | ServerFrame::Ack { .. }))
        .await;
    match frames.last() {
        Some(ServerFrame::Error {
            code,
            client_msg_id,
            ..
        }) => {
            assert_eq!(*code, ErrorCode::Unavailable);
            assert_eq!(client_msg_id.as_ref().unwrap().0, "during");
        }
        other => panic!("expected a typed unavailable error, got {other:?}"),
    }
    assert_eq!(status(cluster.addr(0), "/readyz").await, 503);

    cluster.pg.restart();
    // The client retries with the same id until the store takes it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        sender
            .post_nowait(conv, "during", "during the outage")
            .await;
        let frames = sender
            .until(|f| matches!(f, ServerFrame::Error { .. } | ServerFrame::Ack { .. }))
            .await;
        if matches!(frames.last(), Some(ServerFrame::Ack { .. })) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Postgres back but sends still fail"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sender.post(conv, "after", "after the outage").await;
    receiver.until_complete(conv, 3).await;
    let got: Vec<&str> = receiver.got[&conv].values().map(String::as_str).collect();
    assert_eq!(
        got,
        ["before the outage", "during the outage", "after the outage"]
    );
    assert_contiguous(&receiver.got[&conv], 0, 3, "receiver");
    assert_eq!(receiver.duplicates, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_of_a_user_on_a_killed_node_expires() {
    let mut cluster = Cluster::start(2).await;
    let (cookie_u, u) = register(cluster.addr(0), "leaver").await;
    let (cookie_w, w) = register(cluster.addr(1), "watcher").await;
    let mut watcher = Device::open(cluster.addr(1), &cookie_w, vec![]).await;
    watcher.send(&ClientFrame::OpenDirect { user: u }).await;
    let conv = watcher.conversation().await;

    // The leaver connects on node 0: the watcher on node 1 sees them come online.
    let mut leaver = Device::open(cluster.addr(0), &cookie_u, vec![]).await;
    watcher
        .until(|f| matches!(f, ServerFrame::Presence { user, online: true } if *user == u))
        .await;
    // …and the member list on node 1 says so too.
    watcher.send(&ClientFrame::Members { conv }).await;
    let frames = watcher
        .until(|f| matches!(f, ServerFrame::Members { .. }))
        .await;
    let Some(ServerFrame::Members { members, .. }) = frames.last() else {
        unreachable!()
    };
    assert!(
        members.iter().any(|m| m.user == u && m.online),
        "{members:?}"
    );
    // The leaver saw the watcher online at resume.
    let _ = (&mut leaver, w);

    // Node 0 dies without a word: within the TTL (plus a heartbeat), the watcher is told.
    cluster.kill(0);
    let killed = Instant::now();
    watcher
        .until(|f| matches!(f, ServerFrame::Presence { user, online: false } if *user == u))
        .await;
    let took = killed.elapsed();
    assert!(
        took < Duration::from_millis(PRESENCE_TTL_MS * 2),
        "offline after {took:?}"
    );
    eprintln!(
        "presence of a user on a killed node expired after {took:?} (TTL {PRESENCE_TTL_MS} ms)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_connects_on_every_node_at_once_stalls_nothing() {
    // Every connect is a presence change that every other node applies while its own users
    // connect, and both paths take the hub's and the bus's locks. With those locks once taken
    // in opposite orders, the load generator's 10,000 connects deadlocked a node; this smaller
    // burst is a smoke check that nodes keep answering and routing, not a reproduction.
    const PER_NODE: usize = 40;
    let cluster = Cluster::start(3).await;
    let mut cookies = Vec::new();
    for i in 0..3 * PER_NODE {
        cookies.push((
            i % 3,
            register(cluster.addr(i % 3), &format!("storm{i}")).await.0,
        ));
    }
    let started = Instant::now();
    let connects = cookies.iter().map(|(node, cookie)| {
        let addr = cluster.addr(*node).to_owned();
        let cookie = cookie.clone();
        tokio::spawn(async move { Device::open(&addr, &cookie, vec![]).await })
    });
    let mut devices = Vec::new();
    for connect in connects.collect::<Vec<_>>() {
        devices.push(connect.await.unwrap());
    }
    eprintln!(
        "{} connects over 3 nodes in {:?}",
        devices.len(),
        started.elapsed()
    );
    // Every node still answers and still routes.
    cluster.wait_for_peers().await;
    let pair = cluster.direct_pair("after-storm-a", "after-storm-b").await;
    let (mut sender, mut receiver, conv) = (pair.sender, pair.receiver, pair.conv);
    sender.post(conv, "after", "still routing").await;
    receiver.until_complete(conv, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_before_postgres_and_redis_waits_for_them_and_says_why() {
    let mut cluster = Cluster::start(0).await;
    cluster.pg.stop();
    cluster.redis.stop();
    let dir = tempfile::tempdir().unwrap();
    let (database_url, redis_url) = (cluster.pg.url.clone(), cluster.redis.url.clone());
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let heard = std::sync::Arc::clone(&lines);
    let starting = std::thread::spawn(move || {
        let node = spawn_node(dir.path(), (&database_url, &redis_url), 0, |line| {
            heard.lock().unwrap().push(line.to_owned());
        });
        (node, dir)
    });
    let said = || lines.lock().unwrap().join("\n");
    // Postgres comes back after a while, Redis once the node has said it cannot reach it; the
    // node waits for both. (A connection attempt to Postgres gives up after 3 s, so it is down
    // longer than that.) Waiting for the node's words, not for a fixed time, keeps a busy
    // machine from letting the node reach Postgres only after Redis is back.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert!(!starting.is_finished(), "the node started without Postgres");
    cluster.pg.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !said().contains("cannot reach Redis") {
        assert!(!starting.is_finished(), "the node started without Redis");
        assert!(Instant::now() < deadline, "{}", said());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.redis.restart();
    let (node, _dir) = tokio::task::spawn_blocking(move || starting.join().unwrap())
        .await
        .unwrap();
    cluster.nodes.push(Some(node));
    let said = said();
    assert!(said.contains("cannot reach Postgres"), "{said}");
    assert!(said.contains("retrying"), "{said}");
    cluster.wait_for_peers().await;
    assert_eq!(status(cluster.addr(0), "/readyz").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_and_an_invitation_made_on_one_node_are_seen_on_the_other() {
    let cluster = Cluster::start(2).await;
    cluster.wait_for_peers().await;
    let (cookie_a, a) = register(cluster.addr(0), "owner").await;
    let (cookie_b, b) = register(cluster.addr(1), "guest").await;
    let mut owner = Device::open(cluster.addr(0), &cookie_a, vec![]).await;
    let mut owner_far = Device::open(cluster.addr(1), &cookie_a, vec![]).await;
    let mut guest = Device::open(cluster.addr(1), &cookie_b, vec![]).await;

    // An invitation made on node 0 reaches the guest on node 1, who is no member until they
    // accept; the join is one event both nodes deliver.
    owner
        .send(&ClientFrame::CreateRoom {
            name: "club".into(),
            public: false,
        })
        .await;
    let club = owner.conversation().await;
    owner_far.conversation().await;
    let invite = ClientFrame::Invite {
        conv: club,
        user: b,
    };
    owner.send(&invite).await;
    let told = guest
        .until(|f| matches!(f, ServerFrame::Invitation(i) if i.conv == club))
        .await;
    assert!(
        !told
            .iter()
            .any(|f| matches!(f, ServerFrame::Conversation(_)))
    );
    guest.send(&ClientFrame::Accept { conv: club }).await;
    assert_eq!(guest.conversation().await, club);
    let joined = |f: &ServerFrame| matches!(f, ServerFrame::Event(e) if e.conv == club && e.body == EventBody::Invited { user: b });
    owner.until(joined).await;
    owner_far.until(joined).await;

    // A block made on node 1 reaches the owner's device on node 0, the guest sees the owner go
    // offline, and the guest's direct conversation with the owner is refused.
    owner_far.send(&ClientFrame::Block { user: b }).await;
    owner
        .until(|f| *f == ServerFrame::Blocks { users: vec![b] })
        .await;
    guest
        .until(|f| matches!(f, ServerFrame::Presence { user, online: false } if *user == a))
        .await;
    guest.send(&ClientFrame::OpenDirect { user: a }).await;
    guest
        .until(|f| {
            matches!(
                f,
                ServerFrame::Error {
                    code: ErrorCode::Blocked,
                    ..
                }
            )
        })
        .await;
    // A new device of the owner's on node 0 gets the list before `synced`.
    let again = Device::open(cluster.addr(0), &cookie_a, vec![]).await;
    assert!(
        again.blocks == Some(vec![b]),
        "the block list on reconnect: {:?}",
        again.blocks
    );
}

/// The events of `conv` among `frames`, by seq.
fn events_by_seq(frames: &[ServerFrame], conv: ConvId) -> BTreeMap<i64, EventBody> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Event(e) if e.conv == conv => Some((e.seq.0, e.body.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_deletions_replies_and_reactions_keep_one_order_across_nodes() {
    let cluster = Cluster::start(2).await;
    let Pair {
        mut sender,
        mut receiver,
        conv,
        cookies,
    } = cluster.direct_pair("ann", "ben").await;
    let hers = sender.post(conv, "a-1", "helo").await;
    let his = receiver.post(conv, "b-1", "wrong chat, sorry").await;
    // Both act at once, each on its own node. Ann reacts to her own message: a reaction to
    // Ben's could lose the race to his deleting it (and be refused with `message_deleted`).
    let frames_a = [
        format!(
            r#"{{"type":"edit","client_msg_id":"a-2","conv":{conv},"target":{hers},"body":"hello"}}"#
        ),
        format!(
            r#"{{"type":"react","client_msg_id":"a-3","conv":{conv},"target":{hers},"emoji":"😂"}}"#
        ),
    ];
    let frames_b = [
        format!(
            r#"{{"type":"react","client_msg_id":"b-2","conv":{conv},"target":{hers},"emoji":"👋"}}"#
        ),
        format!(
            r#"{{"type":"send","client_msg_id":"b-3","conv":{conv},"body":"hi!","reply_to":{hers}}}"#
        ),
        format!(r#"{{"type":"delete","client_msg_id":"b-4","conv":{conv},"target":{his}}}"#),
    ];
    let frames_a = frames_a.map(|text| protocol::decode_client(&text).unwrap());
    let frames_b = frames_b.map(|text| protocol::decode_client(&text).unwrap());
    for frame in &frames_a {
        sender.send(frame).await;
    }
    for frame in &frames_b {
        receiver.send(frame).await;
    }
    // Two messages, then five actions: seqs 1 to 7 on both nodes, the same on each.
    let last = his.0 + 5;
    let reaches = |frames: &[ServerFrame]| {
        events_by_seq(frames, conv)
            .keys()
            .next_back()
            .is_some_and(|&s| s >= last)
    };
    let mut on_a = Vec::new();
    while !reaches(&on_a) {
        on_a.push(sender.next().await);
    }
    let mut on_b = Vec::new();
    while !reaches(&on_b) {
        on_b.push(receiver.next().await);
    }
    let (seen_a, seen_b) = (events_by_seq(&on_a, conv), events_by_seq(&on_b, conv));
    let after: Vec<(i64, EventBody)> = seen_a
        .range(his.0 + 1..)
        .map(|(s, b)| (*s, b.clone()))
        .collect();
    assert_eq!(after.len(), 5, "{seen_a:?}");
    assert_eq!(
        seen_a.range(his.0 + 1..).collect::<Vec<_>>(),
        seen_b.range(his.0 + 1..).collect::<Vec<_>>(),
        "one order on both nodes"
    );
    assert!(
        after
            .iter()
            .any(|(_, b)| *b == EventBody::Deleted { target: his })
    );

    // Ben's new tab on Ann's node resumes from before the actions: the same events replayed
    // in the same order, his deleted message a tombstone.
    let mut tab = Device::open(
        cluster.addr(0),
        &cookies.1,
        vec![Cursor { conv, seq: Seq(0) }],
    )
    .await;
    tab.send(&ClientFrame::History {
        conv,
        before: Seq(last + 1),
        limit: 50,
    })
    .await;
    let page = tab
        .until(|f| matches!(f, ServerFrame::History { .. }))
        .await;
    let Some(ServerFrame::History { events, .. }) = page.last() else {
        unreachable!()
    };
    let replayed: BTreeMap<i64, EventBody> =
        events.iter().map(|e| (e.seq.0, e.body.clone())).collect();
    assert_eq!(replayed[&his.0], EventBody::Tombstone { target: None });
    assert!(matches!(&replayed[&hers.0], EventBody::Message { body, .. } if body == "helo"));
    assert_eq!(
        replayed.range(his.0 + 1..).collect::<Vec<_>>(),
        seen_b.range(his.0 + 1..).collect::<Vec<_>>()
    );
}
