//! Cluster mode: the bus between switchboard nodes, over Redis pub/sub.
//!
//! Every node stores into the same Postgres and publishes what it committed on one Redis
//! channel, once; every node delivers what it hears to its own connections. Pub/sub is
//! fire-and-forget, so nothing here is trusted to arrive:
//!
//! - each connection's writer delivers a conversation in seq order and fills any gap from the
//!   store (`connection/writer.rs`), so a lost or overtaken bus message shows up as a jump that is
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
//! change of a user's cluster-wide status to its own connections only (routing's presence).
//!
//! Layering: this module implements routing's [`Peers`] and live's [`PeerRevocations`] with
//! [`Bus`], and calls routing back for what it hears; routing and live never name it. Parts:
//! `wire` (the envelope and its bodies), `peers` (the table of peers and their users), `tasks`
//! (publisher, subscriber, heartbeat, announcer, sweeper).

mod peers;
mod tasks;
mod wire;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::Duration,
};

use tokio::sync::mpsc;

use self::peers::PeerTable;
pub use self::wire::{Body, Envelope};
use super::{
    clock::now_ms,
    live::{Credential, Live, PeerRevocations},
    routing::{Change, Hub, Peers},
    shutdown::Shutdown,
};
use crate::protocol::UserId;

/// The one channel every node publishes on and listens to.
pub const CHANNEL: &str = "switchboard:bus";

/// How many messages may wait for the publisher; beyond that they are dropped and a catch-up is
/// requested once the publisher is through.
const PUBLISH_QUEUE: usize = 65_536;

/// The longest wait between two attempts to reach Redis.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// This node's end of the bus: the publishing queue and what it knows of its peers.
#[derive(Clone, Debug)]
pub struct Bus {
    /// This node's id.
    node: Arc<str>,
    /// Into the publisher task.
    out: mpsc::Sender<Envelope>,
    /// The peers heard from, with their online users.
    peers: Arc<PeerTable>,
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

    /// Starts the publisher, the subscriber, the heartbeat, the announcer and the sweep, each
    /// through `shutdown` (they end when it is triggered).
    pub fn start(
        &self,
        outbox: Outbox,
        hub: Arc<Hub>,
        live: Arc<Live>,
        sweep: Duration,
        shutdown: &Shutdown,
    ) {
        tasks::start(self, outbox, hub, live, sweep, shutdown);
    }
}

impl Peers for Bus {
    fn tell(&self, change: Change<'_>) {
        self.publish(change.into());
    }

    fn online_elsewhere(&self, user: UserId) -> bool {
        self.peers.online_elsewhere(user)
    }
}

impl PeerRevocations for Bus {
    fn revoked(&self, credential: Credential) {
        self.publish(Body::Revoke { credential });
    }
}
