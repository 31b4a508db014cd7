//! Black-box tests: the real server on `127.0.0.1:0`, spoken to with a real WebSocket client
//! (tokio-tungstenite) and a real HTTP client (reqwest).
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{net::SocketAddr, time::Duration};

use futures::{SinkExt, StreamExt};
use switchboard::{
    protocol::{self, ErrorCode, PROTOCOL_VERSION, ServerFrame, close_code},
    server::{self, AppState, config::Config},
};
use tokio::net::TcpListener;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue},
};

type Client = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A server running in this process on an ephemeral loopback port.
struct TestServer {
    addr: SocketAddr,
    state: AppState,
    task: tokio::task::JoinHandle<Result<(), server::ServerError>>,
}

impl TestServer {
    async fn start() -> Self {
        Self::start_with(Config::default()).await
    }

    async fn start_with(mut config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.listen = addr;
        config.allowed_origins = vec![format!("http://{addr}")];
        let state = AppState::new(config);
        let task = tokio::spawn(server::serve(listener, state.clone()));
        Self { addr, state, task }
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Opens `/ws` offering `version`, with `origin` (if any).
    async fn try_connect(
        &self,
        version: &str,
        origin: Option<&str>,
    ) -> Result<Client, tungstenite::Error> {
        let mut request = format!("ws://{}/ws?v={version}", self.addr)
            .into_client_request()
            .unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(socket, _)| socket)
    }

    /// Opens `/ws` the way the browser does and checks the hello.
    async fn connect(&self) -> Client {
        let mut client = self
            .try_connect(&PROTOCOL_VERSION.to_string(), Some(&self.origin()))
            .await
            .unwrap();
        match next_frame(&mut client).await {
            ServerFrame::Hello { protocol, .. } => assert_eq!(protocol, PROTOCOL_VERSION),
            other => panic!("expected hello, got {other:?}"),
        }
        client
    }
}

async fn next_message(client: &mut Client) -> Message {
    tokio::time::timeout(Duration::from_secs(5), client.next())
        .await
        .expect("server answered within 5 s")
        .expect("socket still open")
        .expect("no transport error")
}

async fn next_frame(client: &mut Client) -> ServerFrame {
    match next_message(client).await {
        Message::Text(text) => protocol::decode_server(text.as_str()).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

async fn next_close_code(client: &mut Client) -> u16 {
    match next_message(client).await {
        Message::Close(Some(frame)) => frame.code.into(),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

fn status_of(err: tungstenite::Error) -> u16 {
    match err {
        tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn healthz_answers_ok() {
    let server = TestServer::start().await;
    let body = reqwest::get(format!("http://{}/healthz", server.addr))
        .await
        .unwrap();
    assert_eq!(body.status(), 200);
    assert_eq!(body.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn home_page_is_rendered_on_the_server_with_the_indicator_connecting() {
    let server = TestServer::start().await;
    let response = reqwest::get(format!("http://{}/", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"data-state="connecting""#), "{html}");
    assert!(
        html.contains("/pkg/switchboard.js"),
        "hydration script missing: {html}"
    );
}

#[tokio::test]
async fn unknown_page_is_a_404() {
    let server = TestServer::start().await;
    let response = reqwest::get(format!("http://{}/no/such/page", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn hello_then_ping_is_answered_with_pong() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client
        .send(Message::text(r#"{"type":"ping","nonce":99}"#))
        .await
        .unwrap();
    assert_eq!(
        next_frame(&mut client).await,
        ServerFrame::Pong { nonce: 99 }
    );
}

#[tokio::test]
async fn upgrade_from_a_foreign_or_missing_origin_is_refused_with_403() {
    let server = TestServer::start().await;
    let v = PROTOCOL_VERSION.to_string();
    let err = server
        .try_connect(&v, Some("http://evil.example"))
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 403);
    let err = server.try_connect(&v, None).await.unwrap_err();
    assert_eq!(status_of(err), 403);
    // A near miss is still a miss: the comparison is exact.
    let near = format!("{}/", server.origin());
    assert_eq!(
        status_of(server.try_connect(&v, Some(&near)).await.unwrap_err()),
        403
    );
}

#[tokio::test]
async fn wrong_protocol_version_gets_a_typed_error_and_close_4000() {
    let server = TestServer::start().await;
    for offered in ["999", "banana", ""] {
        let mut client = server
            .try_connect(offered, Some(&server.origin()))
            .await
            .unwrap();
        assert!(
            matches!(
                next_frame(&mut client).await,
                ServerFrame::Error {
                    code: ErrorCode::UnsupportedProtocol,
                    ..
                }
            ),
            "offered {offered:?}"
        );
        assert_eq!(
            next_close_code(&mut client).await,
            close_code::PROTOCOL_MISMATCH
        );
    }
}

#[tokio::test]
async fn malformed_and_unknown_frames_get_typed_errors_and_the_socket_stays_usable() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    for (input, code) in [
        ("][", ErrorCode::MalformedFrame),
        (
            r#"{"type":"teleport","to":"mars"}"#,
            ErrorCode::UnknownFrameType,
        ),
        (r#"{"nonce":1}"#, ErrorCode::MalformedFrame),
    ] {
        client.send(Message::text(input)).await.unwrap();
        match next_frame(&mut client).await {
            ServerFrame::Error { code: got, .. } => assert_eq!(got, code, "{input}"),
            other => panic!("{input}: expected an error, got {other:?}"),
        }
    }
    client
        .send(Message::text(r#"{"type":"ping","nonce":5}"#))
        .await
        .unwrap();
    assert_eq!(
        next_frame(&mut client).await,
        ServerFrame::Pong { nonce: 5 }
    );
}

#[tokio::test]
async fn oversized_frame_gets_a_typed_error_and_close_1009_while_others_carry_on() {
    let server = TestServer::start().await;
    let mut bystander = server.connect().await;
    let mut client = server.connect().await;
    let limit = server.state.config.max_frame_bytes;
    let body = format!(
        r#"{{"type":"ping","nonce":1,"pad":"{}"}}"#,
        "x".repeat(limit)
    );
    client.send(Message::text(body)).await.unwrap();
    assert!(matches!(
        next_frame(&mut client).await,
        ServerFrame::Error {
            code: ErrorCode::FrameTooLarge,
            ..
        }
    ));
    assert_eq!(
        next_close_code(&mut client).await,
        close_code::MESSAGE_TOO_BIG
    );

    // A frame far beyond the limit is cut off by the WebSocket layer before it is buffered.
    let mut flooder = server.connect().await;
    let _ = flooder.send(Message::text("y".repeat(limit * 64))).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = flooder.next().await {
            if message.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the server must end a connection sending a huge frame"
    );

    bystander
        .send(Message::text(r#"{"type":"ping","nonce":2}"#))
        .await
        .unwrap();
    assert_eq!(
        next_frame(&mut bystander).await,
        ServerFrame::Pong { nonce: 2 }
    );
}

#[tokio::test]
async fn shutdown_tells_clients_to_reconnect_closes_with_going_away_and_drains() {
    let server = TestServer::start().await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(server.connect().await);
    }
    server.state.shutdown.trigger();
    for client in &mut clients {
        assert!(matches!(
            next_frame(client).await,
            ServerFrame::Reconnect { .. }
        ));
        assert_eq!(next_close_code(client).await, close_code::GOING_AWAY);
    }
    assert!(server.state.shutdown.drained(Duration::from_secs(5)).await);
    server.task.await.unwrap().unwrap();
}
