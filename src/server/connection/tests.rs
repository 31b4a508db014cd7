//! The connection's own tests: a real socket loop and store driven through channels — the
//! greeting, typed errors for bad frames, the size limit, the handshake and heartbeat clocks,
//! revocation, eviction and generated input.

use std::{sync::Arc, time::Duration};

use axum::extract::ws::{Message, Utf8Bytes};
use futures::{StreamExt, channel::mpsc as chan};
use tokio_util::sync::CancellationToken;

use super::{Peer, Services, SocketSettings, requests::Limits, serve};
use crate::{
    protocol::{
        self, ErrorCode, HEARTBEAT_MISSES, PROTOCOL_VERSION, ProtocolVersion, ServerFrame, UserId,
        close_code,
    },
    server::{committer::Committer, routing::Hub, shutdown::Shutdown, store::Store},
};

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
    let (_tx, mut rx, task) = start_with(Some(PROTOCOL_VERSION), Shutdown::new(), settings).await;
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
    let (tx, mut rx, task) = start_with(Some(PROTOCOL_VERSION), Shutdown::new(), settings).await;
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
