//! The accept loop, and the driver of each HTTP connection.
//!
//! [`Listener::run`] accepts TCP connections, asks [`Capacity`] for a place for each (a refused
//! one gets a canned 503 or 429 and is closed), and serves each admitted one on its own task
//! with hyper, upgrades enabled, until the shutdown signal. A connection's driver closes it when
//! the client is too slow to send a request head or stays idle too long (see
//! [`activity`](self::activity) for the clocks); a request's body has its own timeout, a
//! middleware of the router (`http/body_timeout.rs`). Once a connection becomes a WebSocket,
//! none of that applies: the socket loop has its own handshake and heartbeat clocks. Its
//! socket still holds its [`Ticket`](capacity::Ticket) until it closes.
//!
//! On shutdown the loop stops accepting, idle connections are closed, connections with a
//! request in flight finish it, and [`Listener::run`] returns once they all have. WebSockets
//! are not waited for here: their tasks are drained by `Shutdown::drained`.

pub mod activity;
pub mod capacity;

use std::{convert::Infallible, net::SocketAddr, pin::Pin, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::{Request, Response, body::Incoming};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_util::task::TaskTracker;

use self::{
    activity::{Activity, Timeouts, TrackedBody, Watched},
    capacity::{AddressSlot, Capacity, Refusal, Ticket},
};
use super::shutdown::Shutdown;

/// How many refused sockets may be answered at once; beyond that a refused socket is closed
/// without an answer, so that a flood cannot make refusals hold many files.
const REFUSALS_AT_ONCE: usize = 64;

/// How long a refused socket is kept to deliver its answer and read what the client sent (so
/// that closing it does not reset the connection before the client reads the answer).
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// The longest pause after a failed `accept` (out of files, say) before trying again.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// One listening socket and what its connections need.
pub struct Listener {
    /// The socket connections arrive on.
    tcp: TcpListener,
    /// What answers the requests.
    app: Router,
    /// The caps every connection is admitted under.
    capacity: Arc<Capacity>,
    /// The HTTP clocks.
    timeouts: Timeouts,
    /// Stops the loop, and closes or drains the connections.
    shutdown: Shutdown,
    /// The connection tasks, waited for after the loop stops.
    connections: TaskTracker,
    /// Places for answering refused sockets.
    refusals: Arc<Semaphore>,
}

impl Listener {
    /// Serves `app` on `tcp` under `capacity` and `timeouts` until `shutdown`.
    pub fn new(
        tcp: TcpListener,
        app: Router,
        capacity: Arc<Capacity>,
        timeouts: Timeouts,
        shutdown: Shutdown,
    ) -> Self {
        Self {
            tcp,
            app,
            capacity,
            timeouts,
            shutdown,
            connections: TaskTracker::new(),
            refusals: Arc::new(Semaphore::new(REFUSALS_AT_ONCE)),
        }
    }

    /// Accepts and serves connections until shutdown, then waits for in-flight requests.
    pub async fn run(self) {
        loop {
            let accepted = tokio::select! {
                () = self.shutdown.triggered() => break,
                accepted = self.accept() => accepted,
            };
            let (tcp, peer) = accepted;
            // Chat frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm
            // holds a frame back until the previous one is acknowledged (~40 ms with delayed
            // ACKs).
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, "TCP_NODELAY not set");
            }
            match self.capacity.admit(peer.ip()) {
                Ok(ticket) => {
                    let connection = Connection {
                        app: self.app.clone(),
                        peer,
                        timeouts: self.timeouts,
                        shutdown: self.shutdown.clone(),
                    };
                    // Counted by the shutdown too, which waits for every task it started.
                    let task = self.shutdown.track(connection.run(tcp, ticket));
                    self.connections.spawn(task);
                }
                Err(refusal) => self.refuse(tcp, peer, refusal),
            }
        }
        // Closing the listening socket first makes new clients fail fast instead of waiting.
        drop(self.tcp);
        self.connections.close();
        self.connections.wait().await;
    }

    /// The next connection; failures are retried with a growing pause (out of files, the
    /// client gave up before we accepted), so they never end the loop.
    async fn accept(&self) -> (TcpStream, SocketAddr) {
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.tcp.accept().await {
                Ok(accepted) => return accepted,
                Err(err) if is_connection_error(&err) => {}
                Err(err) => {
                    tracing::warn!(%err, retry_in_ms = backoff.as_millis() as u64, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                }
            }
        }
    }

    /// Answers a refused socket and closes it, on a task of its own.
    fn refuse(&self, mut tcp: TcpStream, peer: SocketAddr, refusal: Refusal) {
        super::metrics::refused(refusal.reason());
        tracing::debug!(%peer, reason = refusal.reason(), "connection refused");
        let Ok(permit) = Arc::clone(&self.refusals).try_acquire_owned() else {
            return;
        };
        self.shutdown.spawn(async move {
            let _permit = permit;
            let answer = async {
                tcp.write_all(&refusal.response()).await?;
                tcp.shutdown().await?;
                // Read until the client closes: closing with its request unread would send a
                // reset, which can destroy our answer before the client reads it.
                let mut sink = [0u8; 1024];
                while tcp.read(&mut sink).await? > 0 {}
                Ok::<_, std::io::Error>(())
            };
            let _ = tokio::time::timeout(REFUSAL_LINGER, answer).await;
        });
    }
}

/// Errors of one connection that `accept` reports but that say nothing about the listener.
fn is_connection_error(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        err.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// What an admitted connection's task needs.
struct Connection {
    /// What answers its requests.
    app: Router,
    /// The client's address, given to handlers as `ConnectInfo<SocketAddr>`.
    peer: SocketAddr,
    /// Its clocks.
    timeouts: Timeouts,
    /// Stops it (after its in-flight request).
    shutdown: Shutdown,
}

impl Connection {
    /// Serves HTTP on `tcp` until the client closes, a clock runs out, it becomes a WebSocket,
    /// or shutdown.
    async fn run(self, tcp: TcpStream, ticket: Ticket) {
        let activity = Arc::new(Activity::new());
        let service = PerRequest {
            app: self.app,
            peer: self.peer,
            address: ticket.address(),
            activity: Arc::clone(&activity),
        };
        let io = hyper_util::rt::TokioIo::new(Watched::new(tcp, Arc::clone(&activity), ticket));
        let http = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .with_upgrades();
        tokio::pin!(http);
        let mut draining = false;
        loop {
            let deadline = activity.deadline(&self.timeouts);
            let expiry = async {
                match deadline {
                    Some((at, _)) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                served = http.as_mut() => {
                    if let Err(err) = served {
                        tracing::debug!(peer = %self.peer, %err, "HTTP connection failed");
                    }
                    return;
                }
                () = self.shutdown.triggered(), if !draining => {
                    if activity.is_idle() {
                        return;
                    }
                    // Lets the request in flight finish, then closes.
                    http.as_mut().graceful_shutdown();
                    draining = true;
                }
                // A request ended: the next deadline is a different one.
                () = activity.changed() => {}
                () = expiry => {
                    // The deadline may have moved while we slept (a request began, a byte came).
                    if let Some((at, wait)) = activity.deadline(&self.timeouts)
                        && at <= tokio::time::Instant::now()
                    {
                        super::metrics::timed_out(wait.kind());
                        tracing::debug!(peer = %self.peer, timeout = wait.kind(), "HTTP connection timed out");
                        // Nothing is in flight, so nothing is lost by dropping the connection;
                        // a graceful shutdown would wait for a slow head to complete.
                        return;
                    }
                }
            }
        }
    }
}

/// The hyper service of one connection: gives each request the client's address and the
/// connection's address slot, marks it in flight, and hands it to the router.
#[derive(Clone)]
struct PerRequest {
    /// The routes.
    app: Router,
    /// The client's address.
    peer: SocketAddr,
    /// The connection's place in its address's count (the upgrade releases it).
    address: AddressSlot,
    /// The connection's activity, for in-flight tracking.
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for PerRequest {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.begin();
        request.extensions_mut().insert(ConnectInfo(self.peer));
        request.extensions_mut().insert(self.address.clone());
        let mut app = self.app.clone();
        Box::pin(async move {
            // The router is always ready; it needs no `poll_ready`.
            let response = tower_service::Service::call(&mut app, request).await?;
            Ok(response.map(|body| TrackedBody::new(body, in_flight)))
        })
    }
}
