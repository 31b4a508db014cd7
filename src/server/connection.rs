//! One WebSocket connection, from the accepted upgrade to goodbye.
//!
//! One connection runs two halves joined by a **bounded** queue ([`Mailbox`]):
//!
//! * the *reader* (`connection/reader.rs`) greets the client (`greeting.rs`), keeps its
//!   heartbeat (`heartbeat.rs`), checks and decodes each client frame (`frames.rs`) and hands
//!   it to [`Connection::handle`](requests::Connection::handle), which answers into the queue;
//! * the *writer* (`connection/writer.rs`) drains the queue into the socket, delivering every
//!   conversation's events in seq order by the gap rules of `delivery.rs`, and stops after
//!   writing a close frame.
//!
//! Anyone who wants to talk to this client (the reader, the committer's acks, the hub's fan-out)
//! only ever `try_send`s into the queue, so a client that does not read cannot make anyone else
//! wait. A client that cannot keep up — its queue over its byte budget, or its oldest undelivered
//! frame older than the wait budget — is evicted with [`close_code::TOO_SLOW`] and resumes
//! later.
//!
//! The loop is generic over `Sink`/`Stream` of axum messages, so unit tests drive it with plain
//! channels and the integration tests with a real WebSocket client.
//!
//! Depends on the routing core (hub, committer), the store, accounts' credential expiry and the
//! shutdown signal; never on the upgrade, the routes or the composition root, which start it.
//!
//! [`close_code::TOO_SLOW`]: crate::protocol::close_code::TOO_SLOW

mod delivery;
mod frames;
mod greeting;
mod heartbeat;
mod reader;
pub mod requests;
#[cfg(test)]
mod tests;
mod writer;

use std::{sync::Arc, time::Duration};

use axum::extract::ws::Message;
use futures::{Sink, Stream};
use tokio_util::sync::CancellationToken;

use self::requests::{Connection, Limits};
use super::{
    accounts::expiry::Expiry,
    committer::Committer,
    routing::{
        Hub, Mailbox, Outgoing,
        queue::{self, Budget},
    },
    shutdown::Shutdown,
    store::Store,
};
use crate::protocol::{ProtocolVersion, UserId};

/// How long the writer may take to flush its queue once the connection is ending.
const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// Per-connection limits, taken from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct SocketSettings {
    /// The largest text frame accepted from the client, in bytes.
    pub max_frame_bytes: usize,
    /// How much the outgoing queue may hold, in bytes and in waiting time, before the
    /// connection counts as unable to keep up and is evicted.
    pub budget: Budget,
    /// The heartbeat interval announced in the hello: after one interval in which nothing
    /// arrived the server pings; [`HEARTBEAT_MISSES`](crate::protocol::HEARTBEAT_MISSES) in a
    /// row end the connection.
    pub heartbeat: Duration,
    /// How long after the upgrade the client has to send `resume`; a socket that has not is
    /// closed with close 4002 ([`NO_RESUME`](crate::protocol::close_code::NO_RESUME)), so that
    /// idle upgraded sockets cannot pile up.
    pub handshake: Duration,
}

/// The shared parts of the server every connection uses.
#[derive(Clone)]
pub struct Services {
    /// Connection table and router.
    pub hub: Arc<Hub>,
    /// The database.
    pub store: Store,
    /// Group commit for messages.
    pub committer: Committer,
    /// Per-user rate limits.
    pub limits: Arc<Limits>,
}

/// Who is on an accepted connection, settled at the upgrade and never changed by the client.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The protocol version from the upgrade URL (`None` when missing or unparseable).
    pub offered: Option<ProtocolVersion>,
    /// The authenticated user.
    pub user: UserId,
    /// Cancelled when the session or token behind the connection is revoked.
    pub ended: CancellationToken,
    /// When that session or token expires by itself (or the session goes idle).
    pub expiry: Expiry,
}

/// Runs one accepted WebSocket connection to completion.
pub async fn serve<W, R, E>(
    sink: W,
    stream: R,
    peer: Peer,
    settings: SocketSettings,
    shutdown: Shutdown,
    services: Services,
) where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let (queue, outgoing) = queue::channel(settings.budget);
    let evict = CancellationToken::new();
    let mailbox = Mailbox {
        user: peer.user,
        queue,
        evict: evict.clone(),
    };
    let mut conn = Connection {
        id: services.hub.next_conn(),
        mailbox,
        hub: services.hub,
        store: services.store.clone(),
        committer: services.committer,
        limits: services.limits,
        resumed: false,
        sends: requests::SendHold::default(),
        shutdown: shutdown.clone(),
    };

    let write = writer::run(
        sink,
        outgoing,
        evict,
        services.store,
        peer.user,
        settings.budget.wait,
    );
    // Counted open from here to the end of this function, however it ends.
    struct Open;
    impl Drop for Open {
        fn drop(&mut self) {
            ::metrics::gauge!(super::metrics::CONNECTIONS_OPEN).decrement(1.0);
        }
    }
    ::metrics::gauge!(super::metrics::CONNECTIONS_OPEN).increment(1.0);
    let _open = Open;
    tokio::pin!(write);
    let read = reader::run(stream, &mut conn, &peer, &settings, &shutdown);
    tokio::select! {
        // The writer ended first: the client is gone or was evicted, so stop reading too.
        () = &mut write => {}
        // The reader ended (client closed, idle, shutdown): let the writer flush what is queued.
        () = read => {
            Box::pin(conn.finish()).await;
            drop(conn);
            if tokio::time::timeout(FLUSH_DEADLINE, write).await.is_err() {
                tracing::debug!("writer did not flush before the deadline");
            }
            return;
        }
    }
    Box::pin(conn.finish()).await;
}

/// Queues a frame that must arrive, waiting a little for room (the connection is ending
/// anyway); a client that has not made room by then is evicted instead.
async fn say(mailbox: &Mailbox, item: Outgoing) {
    match tokio::time::timeout(FLUSH_DEADLINE, mailbox.queue.send(item)).await {
        Ok(_) => {}
        Err(_elapsed) => mailbox.evict.cancel(),
    }
}
