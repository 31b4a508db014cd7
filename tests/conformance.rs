//! The protocol contract, section by section as `docs/PROTOCOL.md` states it, against the real
//! server (in this process, on 127.0.0.1:0, with its own SQLite file) and real WebSocket
//! clients. One module per section of the doc; where a test elsewhere already proves a point,
//! the module names it instead of repeating it.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

#[path = "conformance/close_codes.rs"]
mod close_codes;
#[path = "conformance/connecting.rs"]
mod connecting;
#[path = "conformance/frames.rs"]
mod frames;
#[path = "conformance/heartbeat.rs"]
mod heartbeat;
#[path = "conformance/rate_limits.rs"]
mod rate_limits;
#[path = "conformance/reconnecting.rs"]
mod reconnecting;
#[path = "conformance/resume.rs"]
mod resume;

use std::time::Duration;

use futures::StreamExt;
use harness::Device;
use switchboard::protocol::{self, Reply, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

// Sections proven elsewhere, named here so the contract reads whole:
//
// - Order, durability, exactly once: `tests/routing.rs`
//   (`a_direct_message_reaches_both_devices_of_both_users_once_in_order`,
//   `concurrent_senders_produce_one_order_that_everyone_sees`,
//   `a_retried_send_is_stored_once_with_the_same_seq`), `tests/binary.rs`
//   (`kill_9_mid_stream_loses_no_acked_message_and_duplicates_none`).
// - Errors: `tests/routing.rs`
//   (`bad_frames_get_typed_errors_naming_the_message_and_the_socket_survives`),
//   `tests/server.rs` (`malformed_and_unknown_frames_get_typed_errors_and_the_socket_stays_usable`);
//   the `req` on errors is in `frames` here.
// - Slow clients: `tests/backpressure.rs`
//   (`a_stalled_reader_is_evicted_and_resumes_while_a_briefly_slow_one_is_left_alone`,
//   `a_client_asking_for_history_without_reading_is_held_to_its_byte_budget`),
//   `tests/routing.rs` (`a_client_that_never_reads_is_evicted_and_resumes_with_nothing_lost`).

/// The next frame with the `req` it echoes, skipping presence and typing (which are never
/// answers) and the server's heartbeat pings.
pub async fn reply(device: &mut Device) -> Reply {
    loop {
        let text = match harness::next_message(&mut device.ws).await {
            Message::Text(text) => text,
            other => panic!("expected a text frame, got {other:?}"),
        };
        let reply = protocol::decode_reply(text.as_str()).unwrap();
        if !matches!(
            reply.frame,
            ServerFrame::Presence { .. } | ServerFrame::Typing { .. }
        ) {
            return reply;
        }
    }
}

/// Replies up to and including the first that carries a `req`.
pub async fn until_answer(device: &mut Device) -> Vec<Reply> {
    let mut replies = Vec::new();
    loop {
        let next = reply(device).await;
        let last = next.req.is_some();
        replies.push(next);
        if last {
            return replies;
        }
    }
}

/// Whether the server ends `ws` (a close frame, the stream's end or an error) within `limit`.
pub async fn ends_within(ws: &mut harness::Client, limit: Duration) -> bool {
    tokio::time::timeout(limit, async {
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() {
                break;
            }
        }
    })
    .await
    .is_ok()
}
