//! Connection caps and HTTP timeouts against the real server: slow and idle clients are closed,
//! and every cap refuses with its status and `Retry-After` while the rest keeps working.
//!
//! Timing rule: nothing here asserts that something happens *quickly*; a clock is checked only
//! from below (still open at half the timeout) and the closing is awaited with a generous bound.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use harness::{ADMIN_TOKEN, TestServer, next_close_code, next_frame};
use switchboard::{
    client::{self, ConnectError, Target},
    protocol::{ClientFrame, ErrorCode, ServerFrame, close_code, encode_client},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::tungstenite::Message;

/// Longest any awaited event may take on a loaded machine before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// A TCP connection to `server` from the loopback address `127.0.0.<host>`.
async fn connect_from(host: u8, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0)))
        .unwrap();
    socket.connect(server).await.unwrap()
}

/// A plain `GET path` on a kept-alive connection (with the admin token, for `/healthz`).
fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n")
        .into_bytes()
}

/// Reads one response: its status line and headers, and its body (by `Content-Length`).
async fn read_response(tcp: &mut TcpStream) -> (String, String) {
    let read = async {
        let mut data = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if data.len() >= end + 4 + length {
                    let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]);
                    return (head, body.into_owned());
                }
            }
            let n = tcp.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before a whole response: {data:?}");
            data.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("a response within the patience bound")
}

/// Whether the server has closed `tcp` within `wait`, not counting anything it sent first.
async fn closed_within(tcp: &mut TcpStream, wait: Duration) -> bool {
    let closed = async {
        let mut chunk = [0u8; 1024];
        loop {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, closed).await.is_ok()
}

/// `Retry-After` and the status of a refused upgrade.
fn refusal(err: ConnectError) -> (u16, Option<String>) {
    match err {
        ConnectError::Refused {
            status,
            retry_after,
        } => (status, retry_after),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

/// Opens `/ws` for `cookie` expecting a refusal; checks it is `status` with a positive
/// `Retry-After`.
async fn assert_upgrade_refused(server: &TestServer, cookie: &str, status: u16) {
    let err = server.try_browser_ws(cookie).await.unwrap_err();
    let (got, retry_after) = refusal(err);
    assert_eq!(got, status);
    assert!(retry_after.is_some_and(|s| s.parse::<u32>().unwrap() > 0));
}

/// Opens `/ws` over an existing TCP connection, with the browser's Origin and `cookie`, and
/// reads the hello.
async fn ws_over(
    server: &TestServer,
    tcp: TcpStream,
    cookie: &str,
) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let target = Target::new(server.addr.to_string())
        .origin(server.origin())
        .cookie(cookie);
    let mut ws = client::open_on(tcp, &target, None).await.unwrap();
    match ws.next().await {
        Some(Ok(Message::Text(text))) => assert!(text.contains("\"hello\""), "{text}"),
        other => panic!("expected hello, got {other:?}"),
    }
    ws
}

/// Sends a ping on `ws` and waits for its pong (skipping anything else).
async fn ping<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>, nonce: u64)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send(Message::text(encode_client(&ClientFrame::Ping { nonce })))
        .await
        .unwrap();
    let pong = async {
        while let Some(message) = ws.next().await {
            if let Message::Text(text) = message.unwrap()
                && text.contains("\"pong\"")
                && text.contains(&nonce.to_string())
            {
                return;
            }
        }
        panic!("socket closed before the pong");
    };
    tokio::time::timeout(PATIENCE, pong).await.unwrap();
}

#[tokio::test]
async fn a_client_slow_to_send_its_request_head_is_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(1000);
    let server = TestServer::start_with(|c| c.header_timeout = timeout).await;
    let started = Instant::now();
    let mut slow = connect_from(1, server.addr).await;
    slow.write_all(b"GET /healthz HT").await.unwrap();
    let mut silent = connect_from(1, server.addr).await;
    // The window ends at half the timeout from the start, however long the connecting took.
    assert!(
        !closed_within(&mut slow, (timeout / 2).saturating_sub(started.elapsed())).await,
        "closed before half the header timeout"
    );
    assert!(
        closed_within(&mut slow, PATIENCE).await,
        "slow head kept open"
    );
    let closed_after = started.elapsed();
    assert!(
        closed_within(&mut silent, PATIENCE).await,
        "silent socket kept open"
    );
    eprintln!("slow-header socket closed after {closed_after:?} (header timeout {timeout:?})");
    // A client that sends its head in time is answered.
    let mut prompt = connect_from(1, server.addr).await;
    prompt.write_all(&get("/healthz")).await.unwrap();
    let (head, body) = read_response(&mut prompt).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "ok");
}

#[tokio::test]
async fn a_request_body_that_does_not_arrive_in_time_is_answered_408_and_closed() {
    let server = TestServer::start_with(|c| c.body_timeout = Duration::from_millis(1000)).await;
    let mut tcp = connect_from(1, server.addr).await;
    tcp.write_all(
        format!(
            "POST /api/login HTTP/1.1\r\nHost: test\r\nOrigin: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
             username=a",
            server.origin()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let (head, _) = read_response(&mut tcp).await;
    eprintln!("trickling body answered after {:?}", started.elapsed());
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        closed_within(&mut tcp, PATIENCE).await,
        "kept open after 408"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_keepalive_timeout() {
    let keepalive = Duration::from_millis(1000);
    let server = TestServer::start_with(|c| {
        c.keepalive_timeout = keepalive;
        c.header_timeout = Duration::from_secs(30);
    })
    .await;
    let mut tcp = connect_from(1, server.addr).await;
    let mut idle = Instant::now();
    for _ in 0..2 {
        tcp.write_all(&get("/healthz")).await.unwrap();
        let (head, body) = read_response(&mut tcp).await;
        idle = Instant::now();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, "ok");
        tokio::time::sleep(keepalive / 4).await;
    }
    // Measured from the last response, so an overlong sleep shortens the window instead of
    // pushing it past the timeout.
    assert!(
        !closed_within(&mut tcp, (keepalive / 2).saturating_sub(idle.elapsed())).await,
        "closed before half the keep-alive timeout"
    );
    assert!(
        closed_within(&mut tcp, PATIENCE).await,
        "idle connection kept open"
    );
    eprintln!(
        "idle keep-alive connection closed {:?} after its last response",
        idle.elapsed()
    );
}

#[tokio::test]
async fn a_websocket_that_never_resumes_is_closed_with_4002_while_one_that_resumes_stays() {
    let handshake = Duration::from_millis(1000);
    let server = TestServer::start_with(|c| c.handshake_timeout = handshake).await;
    let (cookie, _) = server.user("handshaker").await;
    let mut silent = server.ws(&cookie).await;
    let (mut resumed, _) = server.device(&cookie, Vec::new()).await;
    let started = Instant::now();
    assert!(matches!(
        next_frame(&mut silent).await,
        ServerFrame::Error {
            code: ErrorCode::NotResumed,
            ..
        }
    ));
    assert_eq!(next_close_code(&mut silent).await, close_code::NO_RESUME);
    // Well past the handshake deadline, the resumed socket is still served.
    tokio::time::sleep((handshake * 2).saturating_sub(started.elapsed())).await;
    resumed.send(&ClientFrame::Ping { nonce: 7 }).await;
    assert_eq!(resumed.next().await, ServerFrame::Pong { nonce: 7 });
}

#[tokio::test]
async fn a_user_over_the_socket_cap_is_refused_429_until_one_of_theirs_closes() {
    let server = TestServer::start_with(|c| c.sockets_per_user = 3).await;
    let (laptop, _) = server.user("capped").await;
    let phone = server
        .login("capped", "correct horse battery")
        .await
        .cookie
        .unwrap();
    let mut first = server.ws(&laptop).await;
    let _second = server.ws(&laptop).await;
    let _third = server.ws(&phone).await;
    assert_upgrade_refused(&server, &phone, 429).await;
    // Someone else is not affected.
    server.connect().await;
    // Once one closes, there is room again (the server notices the close shortly after).
    first.close(None).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match server.try_browser_ws(&phone).await {
            Ok(_) => break,
            Err(err) => {
                assert_eq!(refusal(err).0, 429);
                assert!(Instant::now() < deadline, "no room after a socket closed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test]
async fn connections_per_address_caps_idle_connections_but_not_authenticated_websockets() {
    let server = TestServer::start_with(|c| c.connections_per_address = 3).await;
    let (cookie, _) = server.user("from_two").await;
    // Authenticated WebSockets from 127.0.0.2 stop counting against it once upgraded.
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let tcp = connect_from(2, server.addr).await;
        sockets.push(ws_over(&server, tcp, &cookie).await);
    }
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(connect_from(2, server.addr).await);
    }
    let mut over = connect_from(2, server.addr).await;
    over.write_all(&get("/healthz")).await.unwrap();
    let (head, _) = read_response(&mut over).await;
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: "),
        "{head}"
    );
    assert!(closed_within(&mut over, PATIENCE).await);
    // Another address is not affected, and the admitted idle connections are served.
    let mut other = connect_from(3, server.addr).await;
    other.write_all(&get("/healthz")).await.unwrap();
    assert!(
        read_response(&mut other)
            .await
            .0
            .starts_with("HTTP/1.1 200")
    );
    idle[0].write_all(&get("/healthz")).await.unwrap();
    assert!(
        read_response(&mut idle[0])
            .await
            .0
            .starts_with("HTTP/1.1 200")
    );
    for (nonce, ws) in sockets.iter_mut().enumerate() {
        ping(ws, nonce as u64).await;
    }
}

#[tokio::test]
async fn websockets_over_the_global_cap_get_503_while_healthz_answers() {
    // 40 connections keep a reserve of 20 for plain HTTP: 20 WebSockets fit.
    let server = TestServer::start_with(|c| {
        c.max_connections = 40;
        c.handshake_timeout = Duration::from_secs(60);
    })
    .await;
    let (cookie, _) = server.user("crowd").await;
    let mut open = Vec::new();
    for _ in 0..20 {
        open.push(server.ws(&cookie).await);
    }
    assert_upgrade_refused(&server, &cookie, 503).await;
    let health = server.admin_get("/healthz").await;
    assert_eq!(health.status(), 200);
    let metrics = server.admin_get("/metrics").await;
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"switchboard_refused_connections_total{reason="websocket_capacity"}"#),
        "{text}"
    );
    assert!(text.contains("switchboard_tcp_connections_open"), "{text}");
}

#[tokio::test]
async fn connections_over_the_global_cap_are_answered_503_at_accept_until_some_close() {
    let server = TestServer::start_with(|c| c.max_connections = 10).await;
    let mut sockets = Vec::new();
    for _ in 0..15 {
        sockets.push(connect_from(1, server.addr).await);
    }
    // Accept is in arrival order: the first ten are admitted (and wait silently for a request),
    // the last five are answered at once and closed. The answers are awaited with patience;
    // the admitted ones are only watched for 3 s (a slow machine can only shorten that watch).
    let answers =
        futures::future::join_all(sockets.iter_mut().enumerate().map(|(i, tcp)| async move {
            let wait = if i < 10 {
                Duration::from_secs(3)
            } else {
                PATIENCE
            };
            let mut data = Vec::new();
            let _ = tokio::time::timeout(wait, tcp.read_to_end(&mut data)).await;
            String::from_utf8_lossy(&data).into_owned()
        }))
        .await;
    let refused: Vec<usize> = (0..answers.len())
        .filter(|&i| !answers[i].is_empty())
        .collect();
    assert_eq!(refused, (10..15).collect::<Vec<_>>(), "{answers:?}");
    for answer in &answers[10..] {
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("Retry-After: "), "{answer}");
    }
    drop(sockets);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut tcp = connect_from(1, server.addr).await;
        tcp.write_all(&get("/healthz")).await.unwrap();
        if read_response(&mut tcp).await.0.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no room after the sockets closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
