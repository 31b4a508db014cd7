//! `/healthz`, `/readyz` and `/metrics`: for the operator, never for the public.
//!
//! They are served without a token on `server.admin_listen` (a private address), and on the main
//! listener only to requests carrying `Authorization: Bearer <server.admin_token>`. With no token
//! configured they are not on the main listener at all (404), so by default nobody on the public
//! address can read the metrics or make the server probe its database.
//!
//! Both probes are cheap and take no lock. `/healthz` only says the process is up. `/readyz`
//! reads what [`Readiness`] last found: SQLite's write check (it takes the write lock) runs in
//! the background every [`SQLITE_PROBE_INTERVAL`], whoever asks and however often; Postgres
//! (`SELECT 1` on a pooled connection) and Redis (`PING`) are asked directly, neither taking
//! any lock.
//!
//! Depends on the composition root's [`AppState`] and on metrics; nothing below the routes
//! depends on it.
//!
//! [`Readiness`]: crate::server::state::Readiness
//! [`SQLITE_PROBE_INTERVAL`]: crate::server::state::SQLITE_PROBE_INTERVAL

use std::sync::Arc;

use axum::{
    Router,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};

use crate::server::{metrics, state::AppState};

/// The three endpoints, without any check: for `server.admin_listen`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
}

/// The three endpoints with `state`, served as they are on `server.admin_listen`.
pub fn router(state: AppState) -> Router {
    routes().with_state(state)
}

/// The endpoints for the main listener: behind `server.admin_token`, or none without one.
pub fn on_main_listener(state: &AppState) -> Router<AppState> {
    match &state.config.admin_token {
        Some(token) => routes().route_layer(axum::middleware::from_fn_with_state(
            Arc::<str>::from(token.as_str()),
            require_token,
        )),
        None => Router::new(),
    }
}

/// Lets through only requests whose bearer token is the admin token (compared in constant time).
async fn require_token(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let offered = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if same(offered.as_bytes(), token.as_bytes()) {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "admin token required",
        )
            .into_response()
    }
}

/// Byte equality whose time depends only on the lengths, not on where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn healthz() -> &'static str {
    "ok"
}

/// `/metrics`: Prometheus text format (see [`metrics`] for the names).
async fn metrics_text() -> ([(header::HeaderName, &'static str); 1], String) {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(),
    )
}

/// `/readyz`: 200 when this server should get traffic (the database takes writes, in cluster
/// mode Redis answers and the bus is subscribed, and it is not draining), 503 with the reason
/// otherwise.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.shutdown.is_triggered() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining");
    }
    let database = if state.services.store.ping_takes_write_lock() {
        state.readiness.writable()
    } else {
        match state.services.store.ping().await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(%err, "readiness: database not reachable");
                false
            }
        }
    };
    if !database {
        return (StatusCode::SERVICE_UNAVAILABLE, "database not writable");
    }
    if let Some(bus) = &state.cluster
        && let Err(err) = bus.ping().await
    {
        tracing::warn!(%err, "readiness: cluster bus unavailable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "cluster bus (Redis) unavailable",
        );
    }
    (StatusCode::OK, "ready")
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_match_only_when_every_byte_and_the_length_agree() {
        assert!(same(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!same(b"0123456789abcdef", b"0123456789abcdeF"));
        assert!(!same(b"0123456789abcdef", b"0123456789abcde"));
        assert!(!same(b"", b"x"));
    }
}
