//! PROTOCOL.md, *Close codes* (and frame limits).
//!
//! 1009 for a frame just over the limit: `tests/server.rs`
//! (`oversized_frame_gets_a_typed_error_and_close_1009_while_others_carry_on`); 1007:
//! `tests/routing.rs` (`invalid_utf8_closes_with_1007`); 4000: `tests/server.rs`
//! (`wrong_protocol_version_gets_a_typed_error_and_close_4000`); 4001: `tests/accounts.rs`
//! (`logging_out_closes_that_sessions_sockets_within_a_second`); 4002: `tests/limits.rs`
//! (`a_websocket_that_never_resumes_is_closed_with_4002_while_one_that_resumes_stays`); 4008:
//! `tests/backpressure.rs`; 1000 (no heartbeat): `heartbeat` here.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::TestServer;

/// What a client writing a frame far over the limit sees: the connection ends, never with
/// an answer to the frame. The close it gets, when it gets one before the reset, is 1009.
#[tokio::test]
async fn a_frame_far_over_the_limit_ends_the_connection_and_answers_nothing() {
    let server = TestServer::start_with(|c| c.max_frame_bytes = 1024).await;
    let (cookie, _) = server.user("huge").await;
    let (mut device, _) = server.device(&cookie, vec![]).await;
    let huge = format!(
        r#"{{"type":"ping","nonce":1,"pad":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    let _ = device.ws.send(Message::text(huge)).await;
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        let mut seen = Vec::new();
        while let Some(Ok(message)) = device.ws.next().await {
            let close = message.is_close();
            seen.push(message);
            if close {
                break;
            }
        }
        seen
    })
    .await
    .expect("the server ends the connection");
    for message in &seen {
        match message {
            Message::Text(text) => assert!(!text.contains("pong"), "answered: {text}"),
            Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1009),
            _ => {}
        }
    }
}
