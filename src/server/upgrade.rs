//! The `/ws` upgrade: who may open a WebSocket, and how many.
//!
//! In order: the `Origin` check (403), shutdown (503), authentication (401), the user's socket
//! cap `limits.sockets_per_user` (429), and the server's WebSocket cap — `max_connections` less a
//! reserve for plain HTTP (503). Refusals over a cap carry `Retry-After`. An accepted upgrade
//! stops counting against its client's address (`limits.connections_per_address` is for
//! connections that are not authenticated WebSockets) and starts the socket loop.
//!
//! The whole policy is here, the route included ([`routes`]). Depends on the composition
//! root's [`AppState`] and on what it checks (accounts, the live-socket table, the listener's
//! caps) and hands over to ([`connection`]); the connection never depends on it.

use axum::{
    Extension, Router,
    extract::{Query, State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use super::{
    accounts::Identity,
    connection::{self, Peer, SocketSettings},
    listener::capacity::{AddressSlot, RETRY_AFTER_SECS},
    metrics, routing,
    state::AppState,
};
use crate::{
    auth::ApiError,
    protocol::{ProtocolVersion, WS_PATH},
};

/// The upgrade's route, [`WS_PATH`], for the main router.
pub fn routes() -> Router<AppState> {
    Router::new().route(WS_PATH, get(ws_upgrade))
}

/// Query string of the upgrade request.
#[derive(Deserialize)]
pub struct UpgradeQuery {
    /// The protocol version the client speaks; checked after the upgrade so that the client
    /// receives a typed error it can act on (browsers cannot read a refused upgrade's status).
    v: Option<String>,
}

/// `GET /ws`: checks the client and its caps, then hands the socket to [`connection::serve`].
pub async fn ws_upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<UpgradeQuery>,
    address: Option<Extension<AddressSlot>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Browsers always send Origin and must come from an allowed one; a client without Origin (a
    // bot, a CLI) may connect only with an access token, and only if the config allows it.
    let origin = headers.get(header::ORIGIN);
    let origin_ok = match origin {
        Some(origin) => {
            let origin = origin.to_str().unwrap_or_default();
            state.config.allowed_origins.iter().any(|a| a == origin)
        }
        None => {
            headers.contains_key(header::AUTHORIZATION) && state.config.allow_token_without_origin
        }
    };
    if !origin_ok {
        tracing::info!(?origin, "refused upgrade: origin not allowed");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    if state.shutdown.is_triggered() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server shutting down").into_response();
    }
    let identity = match authenticate(&state, &headers).await {
        Ok(identity) => identity,
        Err(err) => {
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            return (status, err.to_string()).into_response();
        }
    };
    let Some(registration) = state.live.register(
        identity.user.id,
        identity.credential,
        state.config.sockets_per_user,
    ) else {
        metrics::refused("sockets_per_user");
        return over_cap(
            StatusCode::TOO_MANY_REQUESTS,
            "too many open sockets for this user",
        );
    };
    let Some(websocket) = state.capacity.websocket() else {
        metrics::refused("websocket_capacity");
        return over_cap(StatusCode::SERVICE_UNAVAILABLE, "server full");
    };
    if let Some(Extension(address)) = address {
        address.release();
    }
    let peer = Peer {
        offered: query.v.and_then(|v| v.parse().ok()).map(ProtocolVersion),
        user: identity.user.id,
        ended: registration.ended.clone(),
        expiry: identity.expiry,
    };
    let settings = SocketSettings {
        max_frame_bytes: state.config.max_frame_bytes,
        budget: routing::queue::Budget {
            bytes: state.config.outbound_bytes,
            wait: state.config.slow_client,
        },
        heartbeat: state.config.heartbeat,
        handshake: state.config.handshake_timeout,
    };
    let shutdown = state.shutdown.clone();
    let services = state.services.clone();
    // The library's own limit sits above ours so that a frame just over the limit still gets a
    // typed error from the socket loop; far larger ones are cut off before they are buffered.
    let hard_limit = settings.max_frame_bytes.saturating_mul(4).max(64 << 10);
    upgrade
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        // Small buffers: the library's default 128 KiB read buffer is allocated per connection
        // and dominated the memory of an idle one. Client frames are a few hundred bytes; a
        // larger one is read in more than one piece (the buffer grows for it).
        .read_buffer_size(1 << 10)
        .write_buffer_size(4 << 10)
        .on_upgrade(move |socket| {
            use futures::StreamExt;
            let (writer, reader) = socket.split();
            let task = async move {
                connection::serve(writer, reader, peer, settings, shutdown.clone(), services).await;
                // Leaves the credential's table and the caps when the socket ends.
                drop(registration);
                drop(websocket);
            };
            state.shutdown.track(task)
        })
}

/// A refused upgrade over a cap: `status`, `Retry-After` and a short reason.
fn over_cap(status: StatusCode, reason: &'static str) -> Response {
    (status, [(header::RETRY_AFTER, RETRY_AFTER_SECS)], reason).into_response()
}

/// The upgrade's identity: an access token if the request carries one (a bad one is refused,
/// never silently replaced by the cookie), else the session cookie.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Identity, ApiError> {
    if let Some(identity) = state.accounts.from_bearer(headers).await? {
        return Ok(identity);
    }
    state
        .accounts
        .from_cookie(headers)
        .await?
        .ok_or(ApiError::Unauthenticated)
}
