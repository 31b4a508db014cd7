//! The reading half of a connection: greet, then read frames until the client goes, the
//! connection is evicted or its credential ends, the handshake or heartbeat clock runs out, or
//! the server shuts down — and in each case queue the right goodbye.
//!
//! Frames are checked and acted on by `frames.rs`, the greeting and the handshake deadline are
//! `greeting.rs`'s, the heartbeat clock `heartbeat.rs`'s. Depends on those, the request handler
//! and the shutdown signal; nothing above the connection.

use axum::extract::ws::Message;
use futures::{Stream, StreamExt};
use tokio::time::Instant;

use super::{
    Peer, SocketSettings,
    frames::{self, After},
    greeting,
    heartbeat::{Heartbeat, Silence},
    requests::Connection,
    say,
};
use crate::{
    protocol::{ServerFrame, close_code},
    server::{routing::Outgoing, shutdown::Shutdown, wire::encode},
};

/// The reconnect hint sent to clients when the server shuts down.
const RECONNECT_HINT_MS: u32 = 500;

/// Runs the reader until the connection ends; the goodbye, if any, is queued when it returns.
pub async fn run<R, E>(
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
    if !greeting::greet(&mailbox, peer, settings, conn.store.epoch()).await {
        return;
    }
    let resume_by = Instant::now() + settings.handshake;
    // One timer for the credential's life, armed once (it re-arms itself if a session slides).
    let mut expired = peer.expiry.expired();
    let mut heartbeat = Heartbeat::new(settings.heartbeat, Instant::now());
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
                if conn.resumed { heartbeat.due() } else { heartbeat.due().min(resume_by) },
                stream.next(),
            ) => next,
        };
        let message = match next {
            Err(_elapsed) if !conn.resumed && Instant::now() >= resume_by => {
                greeting::not_resumed(&mailbox, settings).await;
                return;
            }
            Err(_elapsed) => match heartbeat.silent(Instant::now()) {
                Silence::NotYet => continue,
                Silence::Ping => {
                    mailbox.push(Outgoing::Ping);
                    continue;
                }
                Silence::Dead => {
                    say(
                        &mailbox,
                        Outgoing::Close(close_code::NORMAL, "no heartbeat"),
                    )
                    .await;
                    return;
                }
            },
            Ok(None) => return,
            Ok(Some(Err(err))) => {
                frames::read_failed(&mailbox, &err).await;
                return;
            }
            Ok(Some(Ok(message))) => {
                heartbeat.alive(Instant::now());
                message
            }
        };
        match message {
            Message::Text(text) => {
                if frames::text(conn, peer, settings, text).await == After::Stop {
                    return;
                }
            }
            Message::Binary(_) => frames::binary(&mailbox),
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
