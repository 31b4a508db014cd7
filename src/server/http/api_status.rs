//! The body-rewriting middleware of the `/api` server functions: Leptos answers every server
//! function error with 500, and [`api_error_status`] reads the error back out of the body to
//! give it its own status. Depends on the shared [`ApiError`] type only.

use axum::{
    body::Body,
    http::{StatusCode, header},
    response::Response,
};

use super::MAX_BODY_BYTES;
use crate::auth::ApiError;

/// Server functions answer every error with 500; this gives each [`ApiError`] its own status
/// ([`ApiError::status`]), so clients see 400/401/409/429 for their mistakes and 500 only for
/// ours. Plain-form posts are redirects and pass through untouched.
pub async fn api_error_status(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<ApiError>(&bytes) {
        parts.status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let ApiError::RateLimited { retry_after_secs } = err {
            parts
                .headers
                .insert(header::RETRY_AFTER, retry_after_secs.into());
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
