//! The cluster's background tasks: the publisher, the subscriber (which applies what peers
//! send to this node's routing), the heartbeat, the presence announcer and the sweep.
//!
//! Each is started through the shutdown tracker and ends when shutdown begins; the publisher
//! first flushes what the sockets' goodbyes queued (users going offline), for a moment.

use std::{sync::Arc, time::Duration};

use axum::extract::ws::Utf8Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::{Body, Bus, CHANNEL, Envelope, Outbox, back_off, peers::Heard, wire::MemberEvent};
use crate::{
    protocol::ConvId,
    server::{
        clock::now_ms,
        live::Live,
        metrics,
        routing::{Flip, Hub, MemberChange, Membership, Origin, coalesce},
        shutdown::Shutdown,
        store::StoreError,
    },
};

/// How far back a catch-up looks before the moment it was needed: covers clock differences
/// between nodes (event times come from the committing node's clock) and commits in flight.
const CATCH_UP_MARGIN_MS: i64 = 5_000;

/// How many queued messages go into one pipelined publish.
const PUBLISH_BATCH: usize = 256;

/// After shutdown began, the publisher keeps publishing while messages come at most this far
/// apart...
const LINGER: Duration = Duration::from_millis(100);

/// ...and for no longer than this in all.
const LINGER_AT_MOST: Duration = Duration::from_secs(1);

/// Starts every task of the bus through `shutdown`.
pub(super) fn start(
    bus: &Bus,
    outbox: Outbox,
    hub: Arc<Hub>,
    live: Arc<Live>,
    sweep: Duration,
    shutdown: &Shutdown,
) {
    let (flips, pending) = mpsc::unbounded_channel();
    let subscribing = subscriber(bus.clone(), Arc::clone(&hub), live, flips.clone());
    until_shutdown(shutdown, subscribing);
    until_shutdown(shutdown, heartbeat(bus.clone(), Arc::clone(&hub), flips));
    until_shutdown(shutdown, announcer(Arc::clone(&hub), pending));
    until_shutdown(shutdown, sweeper(hub, sweep));
    let publishing = publisher(bus.clone(), outbox, shutdown.clone());
    let waiting = shutdown.clone();
    shutdown.spawn(async move {
        tokio::select! {
            () = publishing => {}
            () = async {
                waiting.triggered().await;
                tokio::time::sleep(LINGER_AT_MOST).await;
            } => {}
        }
    });
}

/// Runs `task` through `shutdown` until it ends or shutdown begins.
fn until_shutdown(shutdown: &Shutdown, task: impl Future<Output = ()> + Send + 'static) {
    let waiting = shutdown.clone();
    shutdown.spawn(async move {
        tokio::select! {
            () = waiting.triggered() => {}
            () = task => {}
        }
    });
}

/// Waits for the next messages to publish; `false` when there will be none. After shutdown
/// began, waits only while they keep coming [`LINGER`] apart.
async fn next_batch(
    incoming: &mut mpsc::Receiver<Envelope>,
    batch: &mut Vec<Envelope>,
    shutdown: &Shutdown,
) -> bool {
    if !shutdown.is_triggered() {
        tokio::select! {
            got = incoming.recv_many(batch, PUBLISH_BATCH) => return got > 0,
            () = shutdown.triggered() => {}
        }
    }
    let got = tokio::time::timeout(LINGER, incoming.recv_many(batch, PUBLISH_BATCH)).await;
    matches!(got, Ok(n) if n > 0)
}

/// Publishes queued messages in order on one connection, pipelined; reconnects with backoff.
/// After a failure, the first thing published is a catch-up request covering it.
async fn publisher(bus: Bus, Outbox(mut incoming): Outbox, shutdown: Shutdown) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut conn = match bus.client.get_multiplexed_async_connection().await {
            Ok(conn) => conn,
            Err(_) if shutdown.is_triggered() => return,
            Err(err) => {
                tracing::warn!(%err, "bus publisher cannot reach Redis; retrying");
                back_off(&mut backoff).await;
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        loop {
            let failed = bus.failed_since.load(std::sync::atomic::Ordering::Acquire);
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
                    std::sync::atomic::Ordering::AcqRel,
                    std::sync::atomic::Ordering::Acquire,
                );
            }
            if !next_batch(&mut incoming, &mut batch, &shutdown).await {
                return;
            }
            let mut pipe = redis::pipe();
            for envelope in &batch {
                if let Ok(payload) = serde_json::to_vec(envelope) {
                    pipe.cmd("PUBLISH").arg(CHANNEL).arg(payload).ignore();
                }
            }
            match pipe.query_async::<()>(&mut conn).await {
                Ok(()) => {
                    ::metrics::counter!(metrics::BUS_PUBLISHED).increment(batch.len() as u64);
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
    hub: Arc<Hub>,
    live: Arc<Live>,
    flips: mpsc::UnboundedSender<Vec<Flip>>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut lost_at: Option<i64> = None;
    let subscribed = |up: bool| {
        bus.subscribed
            .store(up, std::sync::atomic::Ordering::Release);
        ::metrics::gauge!(metrics::BUS_CONNECTED).set(if up { 1.0 } else { 0.0 });
    };
    loop {
        let subscribing = async {
            let mut pubsub = bus.client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let mut pubsub = match subscribing.await {
            Ok(pubsub) => pubsub,
            Err(err) => {
                tracing::warn!(%err, "cannot subscribe to the bus; retrying");
                lost_at.get_or_insert_with(now_ms);
                back_off(&mut backoff).await;
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        subscribed(true);
        tracing::info!(node = %bus.node, "subscribed to the bus");
        bus.publish(Body::Hello {});
        if let Some(since) = lost_at.take() {
            tracing::info!(since, "bus subscription back; catching up from the store");
            hub.catch_up(since - CATCH_UP_MARGIN_MS).await;
        }
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Ok(envelope) = serde_json::from_slice::<Envelope>(message.get_payload_bytes())
            else {
                tracing::warn!("ignoring an undecodable bus message");
                continue;
            };
            if envelope.node != bus.node {
                receive(&bus, &hub, &live, &flips, envelope).await;
            }
        }
        drop(messages);
        subscribed(false);
        tracing::warn!("lost the bus subscription; reconnecting");
        lost_at = Some(now_ms());
    }
}

/// Takes in one message from another node: its news of presence first, then its effect on this
/// node's connections.
async fn receive(
    bus: &Bus,
    hub: &Hub,
    live: &Live,
    flips: &mpsc::UnboundedSender<Vec<Flip>>,
    envelope: Envelope,
) {
    ::metrics::histogram!(metrics::BUS_LAG_SECONDS)
        .record((now_ms() - envelope.at).max(0) as f64 / 1000.0);
    let heard = match &envelope.body {
        Body::Presence { user, online } => Heard::Presence(*user, *online),
        Body::Snapshot { users } => Heard::Snapshot(users),
        _ => Heard::Alive,
    };
    let (mut changed, new_peer) = bus.peers.heard(&envelope.node, heard);
    if new_peer && !matches!(envelope.body, Body::Snapshot { .. } | Body::Hello {}) {
        // A peer we had given up for dead (or never heard greet): ask for everyone's online
        // users again rather than show its users offline.
        bus.publish(Body::Hello {});
    }
    // A user online here did not change cluster-wide status, whatever the peers say.
    changed.retain(|(user, _)| !hub.is_local(*user));
    if !changed.is_empty() {
        let _ = flips.send(changed);
    }
    apply(bus, hub, live, envelope.body).await;
}

/// Applies what another node sent to this node's routing (delivered here only).
async fn apply(bus: &Bus, hub: &Hub, live: &Live, body: Body) {
    let peer = Origin::Peer;
    let routed = match body {
        Body::Event { conv, seq, text } => hub
            .publish(conv, seq, &Utf8Bytes::from(text), peer)
            .await
            .map_err(|err| (err, conv, "cannot route a bus event; the sweep will")),
        Body::MemberAdded(event) => member(hub, Membership::Added, event).await,
        Body::MemberRemoved(event) => member(hub, Membership::Removed, event).await,
        Body::Created { conv, members } => {
            hub.conversation_created(conv, members, peer);
            Ok(())
        }
        Body::ToUser { user, text } => {
            hub.to_user(user, None, &Utf8Bytes::from(text), peer);
            Ok(())
        }
        Body::Ephemeral { users, skip, text } => {
            hub.ephemeral(&users, skip, &Utf8Bytes::from(text), peer);
            Ok(())
        }
        Body::Revoke { credential } => {
            live.revoke(credential, peer);
            Ok(())
        }
        Body::Hello {} => {
            bus.publish(Body::Snapshot {
                users: hub.local_users(),
            });
            Ok(())
        }
        Body::CatchUp { since } => {
            hub.catch_up(since).await;
            Ok(())
        }
        // Presence news was taken in by the peer table already.
        Body::Presence { .. } | Body::Snapshot { .. } | Body::Heartbeat {} => Ok(()),
    };
    if let Err((err, conv, what)) = routed {
        tracing::warn!(%err, %conv, "{what}");
    }
}

/// Applies a membership change another node made.
async fn member(
    hub: &Hub,
    membership: Membership,
    event: MemberEvent,
) -> Result<(), (StoreError, ConvId, &'static str)> {
    let text = Utf8Bytes::from(event.text);
    let change = MemberChange {
        membership,
        conv: event.conv,
        user: event.user,
        seq: event.seq,
        text: &text,
    };
    hub.member_changed(change, Origin::Peer)
        .await
        .map_err(|err| (err, event.conv, "cannot apply a bus membership change"))
}

/// Says "alive" every quarter TTL and forgets peers that stopped saying it.
async fn heartbeat(bus: Bus, hub: Arc<Hub>, flips: mpsc::UnboundedSender<Vec<Flip>>) {
    let every = bus.ttl / 4;
    loop {
        tokio::time::sleep(every).await;
        bus.publish(Body::Heartbeat {});
        let mut changed = bus.peers.expire(bus.ttl);
        changed.retain(|(user, _)| !hub.is_local(*user));
        if !changed.is_empty() {
            let _ = flips.send(changed);
        }
    }
}

/// Tells this node's connections of presence changes, off the subscriber's path: each change
/// reads the user's contacts from the store, and a storm of connects (thousands of users coming
/// online at once) must not hold up the events behind it on the bus. Changes still waiting
/// when a newer one for the same user arrives are replaced by it.
async fn announcer(hub: Arc<Hub>, mut pending: mpsc::UnboundedReceiver<Vec<Flip>>) {
    let mut batch = Vec::new();
    while pending.recv_many(&mut batch, 256).await > 0 {
        hub.announce(coalesce(batch.drain(..).flatten())).await;
    }
}

/// Every `every`, catches up on what changed since the previous round (with a margin).
async fn sweeper(hub: Arc<Hub>, every: Duration) {
    let mut since = now_ms();
    loop {
        tokio::time::sleep(every).await;
        let started = now_ms();
        hub.catch_up(since - CATCH_UP_MARGIN_MS).await;
        since = started;
    }
}
