//! The handshake, the server's side: the version check and `hello` the moment the socket opens,
//! and the refusal of a socket that has not sent `resume` in time (`not_resumed`, close 4002).
//!
//! Only queues frames into the connection's mailbox; depends on the hub's mailbox, the frame
//! encoder, metrics and the protocol, nothing above the connection.

use super::{Peer, SocketSettings, say};
use crate::{
    protocol::{Epoch, ErrorCode, PROTOCOL_VERSION, ServerFrame, close_code},
    server::{
        routing::{Mailbox, Outgoing},
        wire::encode,
    },
};

/// Greets the client: `hello` if it offered the protocol this server speaks (then `true`), else
/// an `unsupported_protocol` error and close 4000 (then `false`: the connection ends).
pub async fn greet(
    mailbox: &Mailbox,
    peer: &Peer,
    settings: &SocketSettings,
    epoch: &Epoch,
) -> bool {
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
        say(mailbox, Outgoing::Frame(encode(&refusal))).await;
        say(
            mailbox,
            Outgoing::Close(
                close_code::PROTOCOL_MISMATCH,
                "unsupported protocol version",
            ),
        )
        .await;
        return false;
    }
    mailbox.push(Outgoing::Frame(encode(&ServerFrame::Hello {
        protocol: PROTOCOL_VERSION,
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        user: peer.user,
        heartbeat_ms: u32::try_from(settings.heartbeat.as_millis()).unwrap_or(u32::MAX),
        epoch: epoch.clone(),
    })));
    true
}

/// Says goodbye to a socket that did not send `resume` within `settings.handshake` of the
/// upgrade: a `not_resumed` error, then close 4002.
pub async fn not_resumed(mailbox: &Mailbox, settings: &SocketSettings) {
    crate::server::metrics::timed_out("handshake");
    let refusal = ServerFrame::error(
        ErrorCode::NotResumed,
        format!(
            "no resume within {} ms of the upgrade",
            settings.handshake.as_millis()
        ),
    );
    say(mailbox, Outgoing::Frame(encode(&refusal))).await;
    say(
        mailbox,
        Outgoing::Close(close_code::NO_RESUME, "no resume in time"),
    )
    .await;
}
