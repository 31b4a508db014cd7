//! Operational metrics, rendered in Prometheus text format at `/metrics`.
//!
//! The names, all prefixed `switchboard_`:
//!
//! | name | kind | what |
//! |---|---|---|
//! | `connections_open` | gauge | WebSocket connections open now |
//! | `users_online` | gauge | users with at least one resumed connection |
//! | `messages_routed_total` | counter | messages stored and fanned out |
//! | `deliveries_total` | counter | events queued to connections by fan-out |
//! | `evictions_total` | counter | connections closed because their queue overflowed (4008) |
//! | `rejected_frames_total{reason}` | counter | client frames answered with an error, by error code |
//! | `commit_seconds` | histogram | group-commit transaction time (one observation per batch) |
//! | `commit_batch_messages` | histogram | messages per group commit |
//! | `resumes_total` | counter | `resume` requests served |
//! | `replayed_events_total` | counter | events sent from the store by resume and gap fill |
//! | `tcp_connections_open` | gauge | TCP connections held now (HTTP and WebSocket, all listeners) |
//! | `refused_connections_total{reason}` | counter | connections and upgrades refused by a cap: `max_connections`, `connections_per_address` (at accept), `websocket_capacity`, `sockets_per_user` (at the upgrade) |
//! | `timed_out_connections_total{kind}` | counter | connections closed or answered 408 by a clock: `header`, `body`, `keepalive`, `handshake` |
//! | `cluster_peers` | gauge | cluster mode: other nodes heard from within `cluster.presence_ttl_ms` |
//! | `bus_connected` | gauge | cluster mode: 1 while subscribed to the bus, else 0 |
//! | `bus_lag_seconds` | histogram | cluster mode: from a peer publishing a bus message to this node receiving it |
//! | `bus_published_total` | counter | cluster mode: bus messages published |
//! | `bus_publish_failures_total` | counter | cluster mode: bus messages that could not be published (a catch-up covers them) |
//! | `catch_up_conversations_total` | counter | cluster mode: conversations brought up to date from the store by a catch-up or sweep |
//!
//! One recorder per process (tests run several servers in one process; they share it).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Gauge: open WebSocket connections.
pub const CONNECTIONS_OPEN: &str = "switchboard_connections_open";
/// Gauge: users online.
pub const USERS_ONLINE: &str = "switchboard_users_online";
/// Counter: messages stored and fanned out.
pub const MESSAGES_ROUTED: &str = "switchboard_messages_routed_total";
/// Counter: events queued to connections.
pub const DELIVERIES: &str = "switchboard_deliveries_total";
/// Counter: connections evicted for a full queue.
pub const EVICTIONS: &str = "switchboard_evictions_total";
/// Counter, label `reason`: client frames refused.
pub const REJECTED_FRAMES: &str = "switchboard_rejected_frames_total";
/// Histogram: seconds per group commit.
pub const COMMIT_SECONDS: &str = "switchboard_commit_seconds";
/// Histogram: messages per group commit.
pub const COMMIT_BATCH: &str = "switchboard_commit_batch_messages";
/// Counter: resumes served.
pub const RESUMES: &str = "switchboard_resumes_total";
/// Counter: events replayed from the store.
pub const REPLAYED: &str = "switchboard_replayed_events_total";
/// Gauge: TCP connections held.
pub const TCP_CONNECTIONS_OPEN: &str = "switchboard_tcp_connections_open";
/// Counter, label `reason`: connections and upgrades refused by a cap.
pub const REFUSED_CONNECTIONS: &str = "switchboard_refused_connections_total";
/// Counter, label `kind`: connections ended by a timeout.
pub const TIMED_OUT_CONNECTIONS: &str = "switchboard_timed_out_connections_total";
/// Gauge: other cluster nodes heard from within `cluster.presence_ttl_ms`.
pub const CLUSTER_PEERS: &str = "switchboard_cluster_peers";
/// Gauge: 1 while subscribed to the cluster bus.
pub const BUS_CONNECTED: &str = "switchboard_bus_connected";
/// Histogram: seconds from a peer publishing a bus message to this node receiving it.
pub const BUS_LAG_SECONDS: &str = "switchboard_bus_lag_seconds";
/// Counter: bus messages published.
pub const BUS_PUBLISHED: &str = "switchboard_bus_published_total";
/// Counter: bus messages that could not be published (a catch-up covers them).
pub const BUS_PUBLISH_FAILURES: &str = "switchboard_bus_publish_failures_total";
/// Counter: conversations brought up to date from the store by a cluster catch-up.
pub const CATCH_UPS: &str = "switchboard_catch_up_conversations_total";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once); later calls return the same handle.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(COMMIT_SECONDS.into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(COMMIT_BATCH.into()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(BUS_LAG_SECONDS.into()),
                        &[
                            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
                        ],
                    )
                })
                .map(PrometheusBuilder::build_recorder);
            let recorder = match recorder {
                Ok(recorder) => recorder,
                Err(err) => {
                    tracing::warn!(%err, "metrics are off");
                    return None;
                }
            };
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => {
                    describe();
                    Some(handle)
                }
                Err(err) => {
                    tracing::warn!(%err, "metrics are off: another recorder is installed");
                    None
                }
            }
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(CONNECTIONS_OPEN, "WebSocket connections open now");
    describe_gauge!(USERS_ONLINE, "Users with at least one resumed connection");
    describe_counter!(MESSAGES_ROUTED, "Messages stored and fanned out");
    describe_counter!(DELIVERIES, "Events queued to connections by fan-out");
    describe_counter!(
        EVICTIONS,
        "Connections closed because their queue overflowed"
    );
    describe_counter!(
        REJECTED_FRAMES,
        "Client frames answered with an error, by reason"
    );
    describe_histogram!(COMMIT_SECONDS, metrics::Unit::Seconds, "Group-commit time");
    describe_histogram!(COMMIT_BATCH, "Messages per group commit");
    describe_counter!(RESUMES, "Resume requests served");
    describe_counter!(
        REPLAYED,
        "Events sent from the store by resume and gap fill"
    );
    describe_gauge!(TCP_CONNECTIONS_OPEN, "TCP connections held now");
    describe_counter!(
        REFUSED_CONNECTIONS,
        "Connections and upgrades refused by a cap, by reason"
    );
    describe_counter!(
        TIMED_OUT_CONNECTIONS,
        "Connections ended by a timeout, by kind"
    );
    describe_gauge!(CLUSTER_PEERS, "Other cluster nodes alive");
    describe_gauge!(BUS_CONNECTED, "1 while subscribed to the cluster bus");
    describe_histogram!(
        BUS_LAG_SECONDS,
        metrics::Unit::Seconds,
        "Bus lag: peer publish to receipt here"
    );
    describe_counter!(BUS_PUBLISHED, "Bus messages published");
    describe_counter!(
        BUS_PUBLISH_FAILURES,
        "Bus messages not published (covered by a catch-up)"
    );
    describe_counter!(
        CATCH_UPS,
        "Conversations caught up from the store after lost bus messages"
    );
}

/// Counts a refused client frame.
pub fn rejected(code: crate::protocol::ErrorCode) {
    metrics::counter!(REJECTED_FRAMES, "reason" => code.as_str()).increment(1);
}

/// Counts a connection or upgrade refused by a cap.
pub fn refused(reason: &'static str) {
    metrics::counter!(REFUSED_CONNECTIONS, "reason" => reason).increment(1);
}

/// Counts a connection ended by a timeout.
pub fn timed_out(kind: &'static str) {
    metrics::counter!(TIMED_OUT_CONNECTIONS, "kind" => kind).increment(1);
}

/// The text `/metrics` serves.
pub fn render() -> String {
    HANDLE
        .get()
        .and_then(Option::as_ref)
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}
