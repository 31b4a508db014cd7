//! Checking and decoding what the client sends, before any request handling: the frame size
//! limit, JSON decoding into a [`ClientFrame`](protocol::ClientFrame), binary frames (not part
//! of the protocol) and the read errors that deserve a close code of their own.
//!
//! Refusals are queued into the connection's mailbox; a decoded request goes to
//! [`Connection::handle`]. Depends on the request handler, the hub's mailbox, the frame
//! encoder, metrics and the protocol, nothing above the connection.

use axum::extract::ws::Utf8Bytes;

use super::{Peer, SocketSettings, requests::Connection, say};
use crate::{
    protocol::{self, ErrorCode, ServerFrame, close_code},
    server::{
        metrics,
        routing::{Mailbox, Outgoing},
        wire::encode,
    },
};

/// Whether the reader goes on after a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Read the next frame.
    Continue,
    /// The connection is ending (its goodbye is queued).
    Stop,
}

/// Acts on one text frame: refuses it (and ends the connection) when it is over the size limit,
/// answers a typed error when it does not decode, else hands the request to `conn`.
pub async fn text(
    conn: &mut Connection,
    peer: &Peer,
    settings: &SocketSettings,
    text: Utf8Bytes,
) -> After {
    if text.len() > settings.max_frame_bytes {
        metrics::rejected(ErrorCode::FrameTooLarge);
        let refusal = ServerFrame::error(
            ErrorCode::FrameTooLarge,
            format!(
                "frame of {} bytes exceeds the limit of {} bytes",
                text.len(),
                settings.max_frame_bytes
            ),
        );
        say(&conn.mailbox, Outgoing::Frame(encode(&refusal))).await;
        say(
            &conn.mailbox,
            Outgoing::Close(close_code::MESSAGE_TOO_BIG, "frame too large"),
        )
        .await;
        return After::Stop;
    }
    match protocol::decode_request(text.as_str()) {
        // Boxed: request handling awaits the store, and that future inline would
        // make every idle connection's task several kilobytes larger.
        Ok(request) => {
            // A request (not a heartbeat) keeps the session from going idle.
            if !matches!(request.frame, protocol::ClientFrame::Ping { .. }) {
                peer.expiry.note_use();
            }
            Box::pin(conn.handle(request.frame, request.req)).await;
        }
        Err(err) => {
            tracing::debug!(%err, "refused client frame");
            metrics::rejected(err.code());
            let refusal = ServerFrame::error(err.code(), err.to_string());
            let req = protocol::req_of(text.as_str());
            let text = protocol::encode_reply(&refusal, req.as_ref());
            conn.mailbox.push(Outgoing::Frame(text.into()));
        }
    }
    After::Continue
}

/// Answers a binary frame: the protocol is JSON text only.
pub fn binary(mailbox: &Mailbox) {
    metrics::rejected(ErrorCode::BinaryNotSupported);
    mailbox.push(Outgoing::Frame(encode(&ServerFrame::error(
        ErrorCode::BinaryNotSupported,
        "frames are JSON text; binary frames are not part of the protocol",
    ))));
}

/// Says goodbye after the WebSocket library failed to read a frame: a text frame that is not
/// UTF-8 gets close 1007, one far over the limit (refused by the library at its header) close
/// 1009; other failures (the client went away) end the connection without a word.
pub async fn read_failed(mailbox: &Mailbox, err: &impl std::fmt::Display) {
    let text = err.to_string();
    tracing::debug!(%text, "websocket read failed");
    if text.contains("UTF-8") || text.contains("utf-8") {
        say(
            mailbox,
            Outgoing::Close(close_code::INVALID_PAYLOAD, "text frame is not UTF-8"),
        )
        .await;
    } else if text.contains("Space limit exceeded") {
        // Far over the limit: the library refused it at its header. Say so as for
        // any frame too large (a client still writing it may miss this).
        metrics::rejected(ErrorCode::FrameTooLarge);
        say(
            mailbox,
            Outgoing::Close(close_code::MESSAGE_TOO_BIG, "frame too large"),
        )
        .await;
    }
}
