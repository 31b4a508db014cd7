//! Cluster mode: the bus between switchboard nodes, over Redis pub/sub.
//!
//! Every node stores into the same Postgres and publishes what it committed on one Redis
//! channel, once; every node delivers what it hears to its own connections. Pub/sub is
//! fire-and-forget, so nothing here is trusted to arrive:
//!
//! - each connection's writer delivers a conversation in seq order and fills any gap from the
//!   store (`socket/writer.rs`), so a lost or overtaken bus message shows up as a jump that is
//!   filled before anything later is delivered;
//! - a node that lost its subscription, or failed to publish, asks every node (itself included)
//!   to **catch up**: read from the store which conversations changed since the outage began and
//!   bring each local connection up to their newest seq;
//! - a **sweep** does the same every `cluster.sweep_ms` for whatever changed recently and was not
//!   heard on the bus (a node killed between its commit and its publish).
//!
//! Presence: a user is online while any connection on any node is open. Each node tells the
//! others when a user comes online or goes offline *on that node*, answers a newcomer's `hello`
//! with a snapshot, and sends a heartbeat every quarter of `cluster.presence_ttl_ms`; a node not
//! heard from for that long is taken for dead and its users for offline. Each node announces a
//! change of a user's cluster-wide status to its own connections only (see `Hub`).

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{
    clock::now_ms,
    routing::Hub,
    live::{Credential, Live},
};
use crate::protocol::{ConvId, Seq, UserId};

/// The one channel every node publishes on and listens to.
pub const CHANNEL: &str = "switchboard:bus";

/// How many messages may wait for the publisher; beyond that they are dropped and a catch-up is
/// requested once the publisher is through.
const PUBLISH_QUEUE: usize = 65_536;

/// How far back a catch-up looks before the moment it was needed: covers clock differences
/// between nodes (event times come from the committing node's clock) and commits in flight.
const CATCH_UP_MARGIN_MS: i64 = 5_000;

/// The longest wait between two attempts to reach Redis.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What travels on the bus: who sent it, when, and what.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The sending node.
    pub node: Arc<str>,
    /// When it was sent, Unix milliseconds (for the bus-lag figure).
    pub at: i64,
    /// The message.
    pub body: Body,
}

/// A bus message. Event texts are the encoded `event` frames, ready to send to clients.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// An event was committed at `seq` of `conv` (a message, a rename).
    Event {
        /// Its conversation.
        conv: ConvId,
        /// Its seq.
        seq: Seq,
        /// The encoded frame.
        text: String,
    },
    /// `user` joined or was added to `conv`, recorded at `seq`.
    MemberAdded {
        /// The conversation.
        conv: ConvId,
        /// Who.
        user: UserId,
        /// The event's seq.
        seq: Seq,
        /// The encoded frame.
        text: String,
    },
    /// `user` left or was removed from `conv`, recorded at `seq`.
    MemberRemoved {
        /// The conversation.
        conv: ConvId,
        /// Who.
        user: UserId,
        /// The event's seq.
        seq: Seq,
        /// The encoded frame.
        text: String,
    },
    /// A conversation was created with these members.
    Created {
        /// The conversation.
        conv: ConvId,
        /// Its members.
        members: Vec<UserId>,
    },
    /// A frame for every connection of `user` (read positions shared between devices).
    ToUser {
        /// Whose connections.
        user: UserId,
        /// The encoded frame.
        text: String,
    },
    /// An ephemeral frame (typing) for every connection of `users` except `skip`'s.
    Ephemeral {
        /// Recipients.
        users: Vec<UserId>,
        /// The user it is about, who does not get it.
        skip: UserId,
        /// The encoded frame.
        text: String,
    },
    /// A session or token was revoked: close its sockets.
    Revoke {
        /// Which.
        credential: Credential,
    },
    /// `user` came online (first connection) or went offline (last one) on the sending node.
    Presence {
        /// Who.
        user: UserId,
        /// Which way.
        online: bool,
    },
    /// A node (re)joined the bus: every other node answers with a [`Body::Snapshot`].
    Hello {},
    /// Every user online on the sending node.
    Snapshot {
        /// Who.
        users: Vec<UserId>,
    },
    /// The sending node is alive.
    Heartbeat {},
    /// Something may have been lost since `since` (Unix ms): every node catches up from the store.
    CatchUp {
        /// From when.
        since: i64,
    },
}

/// What a node knows of one peer.
#[derive(Debug)]
struct Peer {
    /// When anything was last heard from it.
    heard: Instant,
    /// Its online users.
    users: HashSet<UserId>,
}

/// A change of a user's cluster-wide presence, as this node sees it.
pub type Flip = (UserId, bool);

/// This node's end of the bus: the publishing queue and what it knows of its peers.
#[derive(Clone, Debug)]
pub struct Bus {
    /// This node's id.
    node: Arc<str>,
    /// Into the publisher task.
    out: mpsc::Sender<Envelope>,
    /// The peers heard from, with their online users.
    peers: Arc<Mutex<HashMap<Arc<str>, Peer>>>,
    /// When publishing first failed since the last successful catch-up request (0: never).
    failed_since: Arc<AtomicI64>,
    /// Whether the subscription is up.
    subscribed: Arc<AtomicBool>,
    /// For readiness checks.
    client: redis::Client,
    /// A peer not heard from for this long is taken for dead.
    ttl: Duration,
}

/// The receiving side, handed to [`Bus::start`] with the hub.
pub struct Outbox(mpsc::Receiver<Envelope>);

/// Waits `backoff`, then doubles it up to [`MAX_BACKOFF`].
async fn back_off(backoff: &mut Duration) {
    tokio::time::sleep(*backoff).await;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
}

impl Bus {
    /// Connects to Redis at `url`, retrying with backoff (and saying why) until it answers.
    pub async fn connect(url: &str, node: &str, ttl: Duration) -> Result<(Self, Outbox), String> {
        // TCP_NODELAY: bus messages are small and latency-bound; with Nagle's algorithm a
        // publish waits for the previous one's ACK (delayed ACKs: tens of milliseconds).
        let info = redis::IntoConnectionInfo::into_connection_info(url)
            .map_err(|err| format!("{url}: {err}"))?
            .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
        let client = redis::Client::open(info).map_err(|err| format!("{url}: {err}"))?;
        let mut backoff = Duration::from_millis(100);
        loop {
            match client.get_multiplexed_async_connection().await {
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(%err, retry_in_ms = backoff.as_millis() as u64, "cannot reach Redis (cluster.redis_url); retrying");
                    back_off(&mut backoff).await;
                }
            }
        }
        let (out, incoming) = mpsc::channel(PUBLISH_QUEUE);
        let bus = Self {
            node: Arc::from(node),
            out,
            peers: Arc::default(),
            failed_since: Arc::default(),
            subscribed: Arc::default(),
            client,
            ttl,
        };
        Ok((bus, Outbox(incoming)))
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Publishes `body` to every other node. Never waits: if the publisher is far behind the
    /// message is dropped and a catch-up requested.
    pub fn publish(&self, body: Body) {
        let envelope = Envelope {
            node: Arc::clone(&self.node),
            at: now_ms(),
            body,
        };
        let at = envelope.at;
        if self.out.try_send(envelope).is_err() {
            self.publish_failed(at);
        }
    }

    /// Remembers that something sent at `at` may not have reached the other nodes.
    fn publish_failed(&self, at: i64) {
        ::metrics::counter!(super::metrics::BUS_PUBLISH_FAILURES).increment(1);
        let _ = self
            .failed_since
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |was| {
                (was == 0 || at < was).then_some(at)
            });
    }

    /// Whether Redis answers a `PING` now (for readiness checks).
    pub async fn ping(&self) -> Result<(), String> {
        let attempt = async {
            let mut conn = self.client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok(_)) if self.subscribed.load(Ordering::Acquire) => Ok(()),
            Ok(Ok(_)) => Err("not subscribed to the bus yet".into()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("Redis did not answer within 2 s".into()),
        }
    }

    /// Whether `user` has a connection on another live node.
    pub fn online_elsewhere(&self, user: UserId) -> bool {
        self.lock().values().any(|peer| peer.users.contains(&user))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Peer>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a message heard from `node`, and its effect on presence: the users whose
    /// cluster-wide status changed in this node's view (given `local`, who is online here), and
    /// whether `node` was unknown until now.
    pub fn heard(
        &self,
        node: &Arc<str>,
        body: &Body,
        local: impl Fn(UserId) -> bool,
    ) -> (Vec<Flip>, bool) {
        let mut peers = self.lock();
        let was_online = |peers: &HashMap<Arc<str>, Peer>, user: UserId| {
            local(user) || peers.values().any(|p| p.users.contains(&user))
        };
        let known = peers.contains_key(node);
        if !known {
            tracing::info!(peer = %node, "peer joined");
        }
        let mut flips = Vec::new();
        match body {
            Body::Presence { user, online } => {
                let before = was_online(&peers, *user);
                let peer = peer_entry(&mut peers, node);
                if *online {
                    peer.users.insert(*user);
                } else {
                    peer.users.remove(user);
                }
                let after = was_online(&peers, *user);
                if before != after {
                    flips.push((*user, after));
                }
            }
            Body::Snapshot { users } => {
                let old: HashSet<UserId> =
                    peers.get(node).map(|p| p.users.clone()).unwrap_or_default();
                let new: HashSet<UserId> = users.iter().copied().collect();
                let changed: Vec<UserId> = old.symmetric_difference(&new).copied().collect();
                let before: Vec<bool> = changed.iter().map(|u| was_online(&peers, *u)).collect();
                peer_entry(&mut peers, node).users = new;
                for (user, before) in changed.into_iter().zip(before) {
                    let after = was_online(&peers, user);
                    if before != after {
                        flips.push((user, after));
                    }
                }
            }
            _ => {
                peer_entry(&mut peers, node);
            }
        }
        ::metrics::gauge!(super::metrics::CLUSTER_PEERS).set(peers.len() as f64);
        (flips, !known)
    }

    /// Forgets peers not heard from within the TTL; returns the users who went offline with
    /// them (in this node's view).
    fn expire(&self, local: impl Fn(UserId) -> bool) -> Vec<Flip> {
        let mut peers = self.lock();
        let dead: Vec<Arc<str>> = peers
            .iter()
            .filter(|(_, p)| p.heard.elapsed() > self.ttl)
            .map(|(n, _)| Arc::clone(n))
            .collect();
        let mut flips = Vec::new();
        for node in dead {
            let Some(peer) = peers.remove(&node) else {
                continue;
            };
            tracing::warn!(peer = %node, users = peer.users.len(), "peer not heard from within cluster.presence_ttl_ms; taking it for dead");
            for user in peer.users {
                if !local(user) && !peers.values().any(|p| p.users.contains(&user)) {
                    flips.push((user, false));
                }
            }
        }
        ::metrics::gauge!(super::metrics::CLUSTER_PEERS).set(peers.len() as f64);
        flips
    }
}

fn peer_entry<'a>(peers: &'a mut HashMap<Arc<str>, Peer>, node: &Arc<str>) -> &'a mut Peer {
    let peer = peers.entry(Arc::clone(node)).or_insert_with(|| Peer {
        heard: Instant::now(),
        users: HashSet::new(),
    });
    peer.heard = Instant::now();
    peer
}

impl Bus {
    /// Starts the publisher, the subscriber, the heartbeat and the sweep.
    pub fn start(&self, outbox: Outbox, hub: Arc<Hub>, live: Arc<Live>, sweep: Duration) {
        let (flips, pending) = mpsc::unbounded_channel();
        tokio::spawn(publisher(self.clone(), outbox));
        tokio::spawn(subscriber(
            self.clone(),
            Arc::clone(&hub),
            live,
            flips.clone(),
        ));
        tokio::spawn(heartbeat(self.clone(), Arc::clone(&hub), flips));
        tokio::spawn(announcer(Arc::clone(&hub), pending));
        tokio::spawn(sweeper(hub, sweep));
    }
}

/// Publishes queued messages in order on one connection, pipelined; reconnects with backoff.
/// After a failure, the first thing published is a catch-up request covering it.
async fn publisher(bus: Bus, Outbox(mut incoming): Outbox) {
    let mut batch = Vec::with_capacity(256);
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut conn = match bus.client.get_multiplexed_async_connection().await {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(%err, "bus publisher cannot reach Redis; retrying");
                back_off(&mut backoff).await;
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        loop {
            let failed = bus.failed_since.load(Ordering::Acquire);
            if failed != 0 {
                let request = Envelope {
                    node: Arc::clone(&bus.node),
                    at: now_ms(),
                    body: Body::CatchUp {
                        since: failed - CATCH_UP_MARGIN_MS,
                    },
                };
                let Ok(payload) = serde_json::to_vec(&request) else {
                    break;
                };
                let sent = redis::cmd("PUBLISH")
                    .arg(CHANNEL)
                    .arg(payload)
                    .query_async::<i64>(&mut conn)
                    .await;
                if sent.is_err() {
                    break;
                }
                tracing::info!(
                    since = failed,
                    "asked every node to catch up after lost bus messages"
                );
                let _ = bus.failed_since.compare_exchange(
                    failed,
                    0,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
            if incoming.recv_many(&mut batch, 256).await == 0 {
                return;
            }
            let mut pipe = redis::pipe();
            for envelope in &batch {
                if let Ok(payload) = serde_json::to_vec(envelope) {
                    pipe.cmd("PUBLISH").arg(CHANNEL).arg(payload).ignore();
                }
            }
            let result = pipe.query_async::<()>(&mut conn).await;
            match result {
                Ok(()) => {
                    ::metrics::counter!(super::metrics::BUS_PUBLISHED)
                        .increment(batch.len() as u64);
                    batch.clear();
                }
                Err(err) => {
                    tracing::warn!(%err, lost = batch.len(), "bus publish failed; reconnecting");
                    if let Some(first) = batch.first() {
                        bus.publish_failed(first.at);
                    }
                    batch.clear();
                    break;
                }
            }
        }
    }
}

/// Listens on the bus and applies what other nodes send; after losing the subscription, catches
/// up from the store once it is back.
async fn subscriber(
    bus: Bus,
    node: Arc<Hub>,
    live: Arc<Live>,
    flips: mpsc::UnboundedSender<Vec<Flip>>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut lost_at: Option<i64> = None;
    loop {
        let subscribed = async {
            let mut pubsub = bus.client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let mut pubsub = match subscribed.await {
            Ok(pubsub) => pubsub,
            Err(err) => {
                tracing::warn!(%err, "cannot subscribe to the bus; retrying");
                lost_at.get_or_insert_with(now_ms);
                back_off(&mut backoff).await;
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        bus.subscribed.store(true, Ordering::Release);
        ::metrics::gauge!(super::metrics::BUS_CONNECTED).set(1.0);
        tracing::info!(node = %bus.node, "subscribed to the bus");
        bus.publish(Body::Hello {});
        if let Some(since) = lost_at.take() {
            tracing::info!(since, "bus subscription back; catching up from the store");
            node.catch_up(since - CATCH_UP_MARGIN_MS).await;
        }
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Ok(envelope) = serde_json::from_slice::<Envelope>(message.get_payload_bytes())
            else {
                tracing::warn!("ignoring an undecodable bus message");
                continue;
            };
            if envelope.node == bus.node {
                continue;
            }
            ::metrics::histogram!(super::metrics::BUS_LAG_SECONDS)
                .record((now_ms() - envelope.at).max(0) as f64 / 1000.0);
            let (changed, new_peer) =
                bus.heard(&envelope.node, &envelope.body, |u| node.is_local(u));
            if new_peer && !matches!(envelope.body, Body::Snapshot { .. } | Body::Hello {}) {
                // A peer we had given up for dead (or never heard greet): ask for everyone's
                // online users again rather than show its users offline.
                bus.publish(Body::Hello {});
            }
            if !changed.is_empty() {
                let _ = flips.send(changed);
            }
            match &envelope.body {
                Body::Hello {} => bus.publish(Body::Snapshot {
                    users: node.local_users(),
                }),
                Body::CatchUp { since } => node.catch_up(*since).await,
                Body::Revoke { credential } => live.revoke_here(*credential),
                _ => node.apply(envelope).await,
            }
        }
        drop(messages);
        bus.subscribed.store(false, Ordering::Release);
        ::metrics::gauge!(super::metrics::BUS_CONNECTED).set(0.0);
        tracing::warn!("lost the bus subscription; reconnecting");
        lost_at = Some(now_ms());
    }
}

/// Says "alive" every quarter TTL and forgets peers that stopped saying it.
async fn heartbeat(bus: Bus, node: Arc<Hub>, flips: mpsc::UnboundedSender<Vec<Flip>>) {
    let every = bus.ttl / 4;
    loop {
        tokio::time::sleep(every).await;
        bus.publish(Body::Heartbeat {});
        let changed = bus.expire(|u| node.is_local(u));
        if !changed.is_empty() {
            let _ = flips.send(changed);
        }
    }
}

/// Tells this node's connections of presence changes, off the subscriber's path: each change
/// reads the user's contacts from the store, and a storm of connects (thousands of users coming
/// online at once) must not hold up the events behind it on the bus. Changes still waiting
/// when a newer one for the same user arrives are replaced by it.
async fn announcer(node: Arc<Hub>, mut pending: mpsc::UnboundedReceiver<Vec<Flip>>) {
    let mut batch = Vec::new();
    while pending.recv_many(&mut batch, 256).await > 0 {
        let mut latest: Vec<Flip> = Vec::new();
        let mut at: HashMap<UserId, usize> = HashMap::new();
        for (user, online) in batch.drain(..).flatten() {
            match at.get(&user) {
                Some(&i) => latest[i].1 = online,
                None => {
                    at.insert(user, latest.len());
                    latest.push((user, online));
                }
            }
        }
        node.announce(latest).await;
    }
}

/// Every `every`, catches up on what changed since the previous round (with a margin).
async fn sweeper(node: Arc<Hub>, every: Duration) {
    let mut since = now_ms();
    loop {
        tokio::time::sleep(every).await;
        let started = now_ms();
        node.catch_up(since - CATCH_UP_MARGIN_MS).await;
        since = started;
    }
}
