//! Black-box tests: the real server on `127.0.0.1:0`, spoken to with a real WebSocket client
//! (tokio-tungstenite) and a real HTTP client (reqwest).
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use harness::{TestServer, assert_pongs, next_close_code, next_frame, status_of};
use switchboard::protocol::{ErrorCode, PROTOCOL_VERSION, ServerFrame, close_code};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn healthz_answers_ok() {
    let server = TestServer::start().await;
    let body = server.admin_get("/healthz").await;
    assert_eq!(body.status(), 200);
    assert_eq!(body.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn home_page_is_rendered_on_the_server_with_log_in_links() {
    let server = TestServer::start().await;
    let response = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"href="/login""#), "{html}");
    assert!(
        html.contains("/pkg/switchboard.js"),
        "hydration script missing: {html}"
    );
}

#[tokio::test]
async fn pages_are_compressed_for_browsers_that_take_it() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let get = |encoding: &'static str| {
        client
            .get(server.url("/login"))
            .header("accept-encoding", encoding)
            .send()
    };
    let plain = get("identity").await.unwrap();
    assert_eq!(plain.headers().get("content-encoding"), None);
    let plain = plain.bytes().await.unwrap().len();
    for encoding in ["br", "gzip"] {
        let packed = get(encoding).await.unwrap();
        assert_eq!(packed.status(), 200);
        assert_eq!(packed.headers().get("content-encoding").unwrap(), encoding);
        let packed = packed.bytes().await.unwrap().len();
        assert!(packed * 2 < plain, "{encoding}: {packed} of {plain} bytes");
    }
}

#[tokio::test]
async fn unknown_page_is_a_404() {
    let server = TestServer::start().await;
    let response = reqwest::get(server.url("/no/such/page")).await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn hello_then_ping_is_answered_with_pong() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    assert_pongs(&mut client, 99).await;
}

#[tokio::test]
async fn upgrade_from_a_foreign_or_missing_origin_is_refused_with_403() {
    let server = TestServer::start().await;
    let cookie = server
        .register("origin_test", "correct horse battery")
        .await;
    let v = PROTOCOL_VERSION.to_string();
    for origin in [
        Some("http://evil.example"),
        None,
        Some(&format!("{}/", server.origin())),
    ] {
        // A near miss (trailing slash) is still a miss: the comparison is exact.
        let err = server
            .try_ws(&v, origin, Some(&cookie), None)
            .await
            .unwrap_err();
        assert_eq!(status_of(err), 403, "{origin:?}");
    }
}

#[tokio::test]
async fn wrong_protocol_version_gets_a_typed_error_and_close_4000() {
    let server = TestServer::start().await;
    let cookie = server
        .register("version_test", "correct horse battery")
        .await;
    for offered in ["999", "banana", ""] {
        let mut client = server
            .try_ws(offered, Some(&server.origin()), Some(&cookie), None)
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
    assert_pongs(&mut client, 5).await;
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

    assert_pongs(&mut bystander, 2).await;
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
