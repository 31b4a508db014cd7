//! The per-connection socket loop: greet, read frames, act on them, say goodbye.
//!
//! One connection runs two halves joined by a **bounded** queue ([`Mailbox`]):
//!
//! * the *reader* (here) checks and decodes each client frame and hands it to
//!   [`Connection::handle`](super::requests::Connection::handle), which answers into the queue;
//! * the *writer* (`socket/writer.rs`) drains the queue into the socket, delivering every
//!   conversation's events in seq order, and stops after writing a close frame.
//!
//! Anyone who wants to talk to this client (the reader, the committer's acks, the hub's fan-out)
//! only ever `try_send`s into the queue, so a client that does not read cannot make anyone else
//! wait. A client that cannot keep up — its queue over its byte budget, or its oldest undelivered
//! frame older than the wait budget — is evicted with [`close_code::TOO_SLOW`] and resumes later.
//!
//! The loop is generic over `Sink`/`Stream` of axum messages, so unit tests drive it with plain
//! channels and the integration tests with a real WebSocket client.

mod writer;

use std::{sync::Arc, time::Duration};

use axum::extract::ws::Message;
use futures::{Sink, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::{
    committer::Committer,
    requests::{Connection, Limits},
    routing::{Hub, Mailbox, Outgoing},
    shutdown::Shutdown,
    store::Store,
    wire::encode,
};
use crate::protocol::{
    self, ErrorCode, HEARTBEAT_MISSES, PROTOCOL_VERSION, ProtocolVersion, ServerFrame, UserId,
    close_code,
};

/// How long the writer may take to flush its queue once the connection is ending.
const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// The reconnect hint sent to clients when the server shuts down.
const RECONNECT_HINT_MS: u32 = 500;

/// Per-connection limits, taken from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct SocketSettings {
    /// The largest text frame accepted from the client, in bytes.
    pub max_frame_bytes: usize,
    /// How much the outgoing queue may hold, in bytes and in waiting time, before the
    /// connection counts as unable to keep up and is evicted.
    pub budget: super::routing::queue::Budget,
    /// The heartbeat interval announced in the hello: after one interval in which nothing
    /// arrived the server pings; [`HEARTBEAT_MISSES`] in a row end the connection.
    pub heartbeat: Duration,
    /// How long after the upgrade the client has to send `resume`; a socket that has not is
    /// closed with [`close_code::NO_RESUME`], so that idle upgraded sockets cannot pile up.
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
    pub expiry: super::accounts::expiry::Expiry,
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
    let (queue, outgoing) = super::routing::queue::channel(settings.budget);
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
        sends: super::requests::SendHold::default(),
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
    let read = read_loop(stream, &mut conn, &peer, &settings, &shutdown);
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

async fn read_loop<R, E>(
    mut stream: R,
    conn: &mut Connection,
    peer: &Peer,
    // Borrowed, not copied: every idle connection's task holds this future (its size is tested).
    settings: &SocketSettings,
    shutdown: &Shutdown,
) where
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let mailbox = conn.mailbox.clone();
    if peer.offered != Some(PROTOCOL_VERSION) {
        let shown = peer
            .offered
            .map_or_else(|| "none".to_owned(), |v| v.to_string());
        let refusal = ServerFrame::error(
            ErrorCode::UnsupportedProtocol,
            format!(
                "this server speaks protocol {PROTOCOL_VERSION}, the client offered {shown}; reload the app"
            ),
        );
        say(&mailbox, Outgoing::Frame(encode(&refusal))).await;
        say(
            &mailbox,
            Outgoing::Close(
                close_code::PROTOCOL_MISMATCH,
                "unsupported protocol version",
            ),
        )
        .await;
        return;
    }
    mailbox.push(Outgoing::Frame(encode(&ServerFrame::Hello {
        protocol: PROTOCOL_VERSION,
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        user: peer.user,
        heartbeat_ms: u32::try_from(settings.heartbeat.as_millis()).unwrap_or(u32::MAX),
        epoch: conn.store.epoch().clone(),
    })));

    let resume_by = tokio::time::Instant::now() + settings.handshake;
    // One timer for the credential's life, armed once (it re-arms itself if a session slides).
    let mut expired = peer.expiry.expired();
    // Liveness is the server's job: any frame from the client (text, binary, ping, or the pong
    // to our ping) counts as life. After an interval of silence the client gets a WebSocket
    // ping, which browsers and WebSocket libraries answer by themselves.
    // `beat`: when the next ping (or, after the last one, the close) is due.
    let mut beat = tokio::time::Instant::now() + settings.heartbeat;
    let mut missed = 0u8;
    loop {
        let next = tokio::select! {
            () = shutdown.triggered() => {
                let hint = ServerFrame::Reconnect { retry_after_ms: RECONNECT_HINT_MS };
                say(&mailbox, Outgoing::Frame(encode(&hint))).await;
                say(&mailbox, Outgoing::Close(close_code::GOING_AWAY, "server shutting down")).await;
                return;
            }
            () = mailbox.evict.cancelled() => return,
            () = peer.ended.cancelled() => {
                say(&mailbox, Outgoing::Close(close_code::SESSION_ENDED, "session ended; log in again")).await;
                return;
            }
            reason = &mut expired => {
                say(&mailbox, Outgoing::Close(close_code::SESSION_ENDED, reason)).await;
                return;
            }
            // Before `resume`, the handshake deadline may come sooner than the heartbeat's.
            next = tokio::time::timeout_at(
                if conn.resumed { beat } else { beat.min(resume_by) },
                stream.next(),
            ) => next,
        };
        let message = match next {
            Err(_elapsed) if !conn.resumed && tokio::time::Instant::now() >= resume_by => {
                super::metrics::timed_out("handshake");
                let refusal = ServerFrame::error(
                    ErrorCode::NotResumed,
                    format!(
                        "no resume within {} ms of the upgrade",
                        settings.handshake.as_millis()
                    ),
                );
                say(&mailbox, Outgoing::Frame(encode(&refusal))).await;
                say(
                    &mailbox,
                    Outgoing::Close(close_code::NO_RESUME, "no resume in time"),
                )
                .await;
                return;
            }
            Err(_elapsed) if tokio::time::Instant::now() < beat => continue,
            Err(_elapsed) => {
                missed += 1;
                beat += settings.heartbeat;
                if u32::from(missed) < HEARTBEAT_MISSES {
                    mailbox.push(Outgoing::Ping);
                    continue;
                }
                say(
                    &mailbox,
                    Outgoing::Close(close_code::NORMAL, "no heartbeat"),
                )
                .await;
                return;
            }
            Ok(None) => return,
            Ok(Some(Err(err))) => {
                let text = err.to_string();
                tracing::debug!(%text, "websocket read failed");
                if text.contains("UTF-8") || text.contains("utf-8") {
                    say(
                        &mailbox,
                        Outgoing::Close(close_code::INVALID_PAYLOAD, "text frame is not UTF-8"),
                    )
                    .await;
                } else if text.contains("Space limit exceeded") {
                    // Far over the limit: the library refused it at its header. Say so as for
                    // any frame too large (a client still writing it may miss this).
                    super::metrics::rejected(ErrorCode::FrameTooLarge);
                    say(
                        &mailbox,
                        Outgoing::Close(close_code::MESSAGE_TOO_BIG, "frame too large"),
                    )
                    .await;
                }
                return;
            }
            Ok(Some(Ok(message))) => {
                beat = tokio::time::Instant::now() + settings.heartbeat;
                missed = 0;
                message
            }
        };
        match message {
            Message::Text(text) => {
                if text.len() > settings.max_frame_bytes {
                    super::metrics::rejected(ErrorCode::FrameTooLarge);
                    let refusal = ServerFrame::error(
                        ErrorCode::FrameTooLarge,
                        format!(
                            "frame of {} bytes exceeds the limit of {} bytes",
                            text.len(),
                            settings.max_frame_bytes
                        ),
                    );
                    say(&mailbox, Outgoing::Frame(encode(&refusal))).await;
                    say(
                        &mailbox,
                        Outgoing::Close(close_code::MESSAGE_TOO_BIG, "frame too large"),
                    )
                    .await;
                    return;
                }
                match protocol::decode_request(text.as_str()) {
                    // Boxed: request handling awaits the store, and that future inline would
                    // make every idle connection's task several kilobytes larger.
                    Ok(request) => {
                        // A request (not a heartbeat) keeps the session from going idle.
                        if !matches!(request.frame, protocol::ClientFrame::Ping { .. }) {
                            peer.expiry.note_use();
                        }
                        Box::pin(conn.handle(request.frame, request.req)).await
                    }
                    Err(err) => {
                        tracing::debug!(%err, "refused client frame");
                        super::metrics::rejected(err.code());
                        let refusal = ServerFrame::error(err.code(), err.to_string());
                        let req = protocol::req_of(text.as_str());
                        let text = protocol::encode_reply(&refusal, req.as_ref());
                        mailbox.push(Outgoing::Frame(text.into()));
                    }
                }
            }
            Message::Binary(_) => {
                super::metrics::rejected(ErrorCode::BinaryNotSupported);
                mailbox.push(Outgoing::Frame(encode(&ServerFrame::error(
                    ErrorCode::BinaryNotSupported,
                    "frames are JSON text; binary frames are not part of the protocol",
                ))));
            }
            // The WebSocket library answers pings itself; pongs need no answer. Both count
            // as life (above).
            Message::Ping(_) | Message::Pong(_) => {}
            Message::Close(_) => return,
        }
        if mailbox.evict.is_cancelled() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ws::Utf8Bytes;
    use futures::channel::mpsc as chan;

    const SETTINGS: SocketSettings = SocketSettings {
        max_frame_bytes: 1024,
        budget: crate::server::routing::queue::Budget {
            bytes: 1024,
            wait: Duration::from_secs(10),
        },
        heartbeat: Duration::from_secs(20),
        handshake: Duration::from_secs(10),
    };

    fn peer(offered: Option<ProtocolVersion>) -> Peer {
        Peer {
            offered,
            user: UserId(1),
            ended: CancellationToken::new(),
            expiry: crate::server::accounts::expiry::Expiry::never(),
        }
    }

    /// Real services over a throw-away SQLite file (kept alive by the returned directory).
    async fn services() -> (Services, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("t.db")).await.unwrap();
        let hub = Arc::new(Hub::alone(store.clone()));
        let services = Services {
            committer: Committer::start(store.clone(), Arc::clone(&hub), &Shutdown::new()),
            hub,
            store,
            limits: Arc::new(Limits::new(&crate::server::config::Config {
                messages_per_second: 100,
                ..Default::default()
            })),
        };
        (services, dir)
    }

    /// Starts a socket loop wired to channels: returns (client → server sender, server → client
    /// receiver, the loop's task).
    async fn start(
        offered: Option<ProtocolVersion>,
        shutdown: Shutdown,
    ) -> (
        chan::UnboundedSender<Result<Message, String>>,
        chan::UnboundedReceiver<Message>,
        tokio::task::JoinHandle<()>,
    ) {
        start_with(offered, shutdown, SETTINGS).await
    }

    async fn start_with(
        offered: Option<ProtocolVersion>,
        shutdown: Shutdown,
        settings: SocketSettings,
    ) -> (
        chan::UnboundedSender<Result<Message, String>>,
        chan::UnboundedReceiver<Message>,
        tokio::task::JoinHandle<()>,
    ) {
        let (to_server, reader) = chan::unbounded();
        let (writer, from_server) = chan::unbounded();
        let (services, dir) = services().await;
        let task = tokio::spawn(async move {
            serve(writer, reader, peer(offered), settings, shutdown, services).await;
            drop(dir);
        });
        (to_server, from_server, task)
    }

    /// Every open connection holds one task of this size for its whole life, so it is part of
    /// the memory per idle connection (BENCHMARKS.md); store calls are boxed to keep it small.
    #[tokio::test]
    async fn an_idle_connection_is_a_small_task() {
        let (_to_server, reader) = chan::unbounded::<Result<Message, String>>();
        let (writer, _from_server) = chan::unbounded();
        let (services, _dir) = services().await;
        let future = serve(
            writer,
            reader,
            peer(None),
            SETTINGS,
            Shutdown::new(),
            services,
        );
        let size = std::mem::size_of_val(&future);
        assert!(size <= 3 * 1024, "the socket task is {size} bytes");
    }

    async fn next_frame(rx: &mut chan::UnboundedReceiver<Message>) -> ServerFrame {
        match rx.next().await {
            Some(Message::Text(text)) => protocol::decode_server(text.as_str()).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    async fn next_close(rx: &mut chan::UnboundedReceiver<Message>) -> u16 {
        match rx.next().await {
            Some(Message::Close(Some(frame))) => frame.code,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    fn text(s: &str) -> Result<Message, String> {
        Ok(Message::Text(Utf8Bytes::from(s.to_owned())))
    }

    #[tokio::test]
    async fn greets_then_answers_pings() {
        let (tx, mut rx, _task) = start(Some(PROTOCOL_VERSION), Shutdown::new()).await;
        assert!(
            matches!(next_frame(&mut rx).await, ServerFrame::Hello { protocol, .. } if protocol == PROTOCOL_VERSION)
        );
        tx.unbounded_send(text(r#"{"type":"ping","nonce":42}"#))
            .unwrap();
        assert_eq!(next_frame(&mut rx).await, ServerFrame::Pong { nonce: 42 });
    }

    #[tokio::test]
    async fn bad_frames_get_typed_errors_and_the_connection_survives() {
        let (tx, mut rx, _task) = start(Some(PROTOCOL_VERSION), Shutdown::new()).await;
        next_frame(&mut rx).await;
        for (input, code) in [
            ("{not json", ErrorCode::MalformedFrame),
            (r#"{"type":"launch_rockets"}"#, ErrorCode::UnknownFrameType),
            (r#"{"type":"ping","nonce":"x"}"#, ErrorCode::MalformedFrame),
        ] {
            tx.unbounded_send(text(input)).unwrap();
            assert!(
                matches!(next_frame(&mut rx).await, ServerFrame::Error { code: c, .. } if c == code),
                "{input}"
            );
        }
        tx.unbounded_send(Ok(Message::Binary(vec![1, 2, 3].into())))
            .unwrap();
        assert!(matches!(
            next_frame(&mut rx).await,
            ServerFrame::Error {
                code: ErrorCode::BinaryNotSupported,
                ..
            }
        ));
        tx.unbounded_send(text(r#"{"type":"ping","nonce":1}"#))
            .unwrap();
        assert_eq!(next_frame(&mut rx).await, ServerFrame::Pong { nonce: 1 });
    }

    #[tokio::test]
    async fn oversized_frame_is_refused_then_closed_with_1009() {
        let (tx, mut rx, task) = start(Some(PROTOCOL_VERSION), Shutdown::new()).await;
        next_frame(&mut rx).await;
        tx.unbounded_send(text(&"x".repeat(SETTINGS.max_frame_bytes + 1)))
            .unwrap();
        assert!(matches!(
            next_frame(&mut rx).await,
            ServerFrame::Error {
                code: ErrorCode::FrameTooLarge,
                ..
            }
        ));
        assert_eq!(next_close(&mut rx).await, close_code::MESSAGE_TOO_BIG);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn wrong_or_missing_protocol_version_is_told_to_reload() {
        for offered in [Some(ProtocolVersion(PROTOCOL_VERSION.0 + 1)), None] {
            let (_tx, mut rx, task) = start(offered, Shutdown::new()).await;
            assert!(matches!(
                next_frame(&mut rx).await,
                ServerFrame::Error {
                    code: ErrorCode::UnsupportedProtocol,
                    ..
                }
            ));
            assert_eq!(next_close(&mut rx).await, close_code::PROTOCOL_MISMATCH);
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn shutdown_sends_reconnect_hint_then_going_away() {
        let shutdown = Shutdown::new();
        let (_tx, mut rx, task) = start(Some(PROTOCOL_VERSION), shutdown.clone()).await;
        next_frame(&mut rx).await;
        shutdown.trigger();
        assert!(matches!(
            next_frame(&mut rx).await,
            ServerFrame::Reconnect { .. }
        ));
        assert_eq!(next_close(&mut rx).await, close_code::GOING_AWAY);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_socket_that_never_resumes_is_closed_with_4002() {
        let settings = SocketSettings {
            handshake: Duration::from_millis(200),
            ..SETTINGS
        };
        let (_tx, mut rx, task) =
            start_with(Some(PROTOCOL_VERSION), Shutdown::new(), settings).await;
        assert!(matches!(
            next_frame(&mut rx).await,
            ServerFrame::Hello { .. }
        ));
        assert!(matches!(
            next_frame(&mut rx).await,
            ServerFrame::Error {
                code: ErrorCode::NotResumed,
                ..
            }
        ));
        assert_eq!(next_close(&mut rx).await, close_code::NO_RESUME);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_silent_client_is_pinged_and_closed_only_after_missing_the_pings() {
        let settings = SocketSettings {
            heartbeat: Duration::from_millis(200),
            ..SETTINGS
        };
        let (tx, mut rx, task) =
            start_with(Some(PROTOCOL_VERSION), Shutdown::new(), settings).await;
        next_frame(&mut rx).await;
        tx.unbounded_send(text(r#"{"type":"resume","cursors":[]}"#))
            .unwrap();
        // A client that answers every ping (and sends nothing else) is kept.
        let mut pongs = 0;
        while pongs < 5 {
            match rx.next().await {
                Some(Message::Ping(_)) => {
                    tx.unbounded_send(Ok(Message::Pong(Default::default())))
                        .unwrap();
                    pongs += 1;
                }
                Some(Message::Text(_)) => {}
                other => panic!("a client answering pings was dropped: {other:?}"),
            }
        }
        // Then it stops answering: one more ping, and the close.
        let mut pings = 0;
        let code = loop {
            match rx.next().await {
                Some(Message::Ping(_)) => pings += 1,
                Some(Message::Close(Some(frame))) => break frame.code,
                other => panic!("expected a ping or the close, got {other:?}"),
            }
        };
        assert_eq!(code, close_code::NORMAL);
        assert_eq!(pings, HEARTBEAT_MISSES - 1);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_revoked_credential_closes_the_socket_with_4001() {
        let (_to_server, reader) = chan::unbounded::<Result<Message, String>>();
        let (writer, mut rx) = chan::unbounded();
        let peer = peer(Some(PROTOCOL_VERSION));
        let ended = peer.ended.clone();
        let (services, _dir) = services().await;
        let task = tokio::spawn(serve(
            writer,
            reader,
            peer,
            SETTINGS,
            Shutdown::new(),
            services,
        ));
        assert!(matches!(
            next_frame(&mut rx).await,
            ServerFrame::Hello {
                user: UserId(1),
                ..
            }
        ));
        ended.cancel();
        assert_eq!(next_close(&mut rx).await, close_code::SESSION_ENDED);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_client_that_never_reads_is_evicted_with_too_slow() {
        // A writer that never accepts anything: the queue fills and the reader must evict.
        let (to_server, reader) = chan::unbounded::<Result<Message, String>>();
        let (writer, mut from_server) = chan::channel::<Message>(0);
        let (services, _dir) = services().await;
        let task = tokio::spawn(serve(
            writer,
            reader,
            peer(Some(PROTOCOL_VERSION)),
            SETTINGS,
            Shutdown::new(),
            services,
        ));
        // Each pong is ~90 bytes with its overhead: this overflows the 1 KiB budget.
        for nonce in 0..40u64 {
            to_server
                .unbounded_send(text(&format!(r#"{{"type":"ping","nonce":{nonce}}}"#)))
                .unwrap();
        }
        // The reader overflows the queue while the writer is stuck; once the client reads again
        // it sees what fit in the queue and then the eviction close.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut last = None;
        while let Some(message) = from_server.next().await {
            last = Some(message);
        }
        assert!(
            matches!(last, Some(Message::Close(Some(ref f))) if f.code == close_code::TOO_SLOW),
            "{last:?}"
        );
        task.await.unwrap();
    }

    mod generated {
        use super::*;
        use crate::protocol::tests::generated::client_text;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Thousands of random, mutated and valid frames (64 cases of up to 60) through a
            /// real socket loop and store: no panic, every answer decodes, and the connection
            /// still answers a ping afterwards.
            #[test]
            fn generated_frames_never_break_the_socket_loop(
                frames in proptest::collection::vec(
                    client_text().prop_filter("within the frame limit", |t| {
                        t.len() <= SETTINGS.max_frame_bytes && !t.contains("424242")
                    }),
                    1..60,
                )
            ) {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    // A queue that holds every answer: this test is about input, not eviction.
                    let settings = SocketSettings {
                        budget: crate::server::routing::queue::Budget {
                            bytes: 4 << 20,
                            wait: Duration::from_secs(60),
                        },
                        ..SETTINGS
                    };
                    let (tx, mut rx, task) =
                        start_with(Some(PROTOCOL_VERSION), Shutdown::new(), settings).await;
                    next_frame(&mut rx).await;
                    for frame in &frames {
                        tx.unbounded_send(text(frame)).unwrap();
                    }
                    tx.unbounded_send(text(r#"{"type":"ping","nonce":424242}"#)).unwrap();
                    loop {
                        match rx.next().await {
                            Some(Message::Text(answer)) => {
                                let answer = protocol::decode_server(answer.as_str())
                                    .expect("every server frame decodes");
                                if answer == (ServerFrame::Pong { nonce: 424242 }) {
                                    break;
                                }
                            }
                            other => panic!("connection ended: {other:?} after {frames:?}"),
                        }
                    }
                    assert!(!task.is_finished());
                });
            }
        }
    }
}
