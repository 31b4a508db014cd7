//! The request body timeout: a body that has not fully arrived within
//! `server.body_timeout_ms` of its head is answered with 408 and the connection closed.
//!
//! Every body this server accepts is small (at most `MAX_BODY_BYTES`: forms and server-function
//! calls), so the body is read here in full, under the timeout, and handed on as bytes; no
//! handler is left waiting on a trickling client.
//!
//! A middleware of [`super::router`]; depends on metrics only.

use std::time::Duration;

use axum::{
    body::{Body, HttpBody},
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Middleware (`from_fn_with_state(body_timeout, read_body_within)`): reads the request body
/// within `limit`, or answers 408 (too slow), 413 (too large) or 400 (broken).
pub async fn read_body_within(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, super::MAX_BODY_BYTES);
    match tokio::time::timeout(limit, read).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(err)) if is_too_large(&err) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONNECTION, "close")],
            "request body too large",
        )
            .into_response(),
        Ok(Err(err)) => {
            tracing::debug!(%err, "request body unreadable");
            (
                StatusCode::BAD_REQUEST,
                [(header::CONNECTION, "close")],
                "request body unreadable",
            )
                .into_response()
        }
        Err(_elapsed) => {
            crate::server::metrics::timed_out("body");
            (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                "request body not received in time",
            )
                .into_response()
        }
    }
}

/// Whether a body failed because it passed a length limit (ours or `RequestBodyLimitLayer`'s).
fn is_too_large(err: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = cause {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = err.source();
    }
    false
}
