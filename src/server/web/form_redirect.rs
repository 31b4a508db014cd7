//! Where a no-JS form post is sent back to, and how its error goes with it.
//!
//! A plain HTML form post to `/api/...` is answered with a redirect: to `/` after log-in, or back
//! to the page the form was on. The framework takes "the page the form was on" from `Referer`,
//! which the sender controls, and appends the error as `__path`/`__err` (the whole serialised
//! error, message included). So every redirect from `/api` is rewritten here:
//!
//! - the target is always a path on this site (`/...`, never `//...`): an absolute URL is
//!   reduced to its path when its origin is one of the app's own, and replaced by `/` otherwise;
//! - `__err`/`__path` are replaced by a fixed code (see [`crate::auth::form_error`]); any
//!   `error`/`retry_after` already in the URL are dropped, so only the server's code remains.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};
use base64::{
    Engine,
    alphabet::URL_SAFE,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};

use super::csrf::Origins;
use crate::auth::{
    ApiError,
    form_error::{ERROR_PARAM, RETRY_PARAM, to_query},
};

/// The framework's own query parameters for a form's error.
const FRAMEWORK_PARAMS: [&str; 2] = ["__err", "__path"];

/// The middleware: rewrites the `Location` of every redirect answering an `/api` request.
pub async fn rewrite(
    State(origins): State<Arc<Origins>>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if !api || !response.status().is_redirection() {
        return response;
    }
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("/");
    let target = safe_target(location, &origins);
    let value = HeaderValue::from_str(&target).unwrap_or(HeaderValue::from_static("/"));
    response.headers_mut().insert(header::LOCATION, value);
    response
}

/// The same-site path `location` may send a browser to, with the error as a code.
pub fn safe_target(location: &str, origins: &Origins) -> String {
    let location = location.split('#').next().unwrap_or_default();
    let Some(local) = local_path(location, origins) else {
        return "/".into();
    };
    let (path, query) = local.split_once('?').unwrap_or((local, ""));
    let mut kept: Vec<String> = Vec::new();
    let mut error = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split('=').next().unwrap_or_default();
        if key == "__err" {
            // The last one is the server's: the framework appends it to the page's own URL.
            error = Some(pair[key.len()..].trim_start_matches('='));
        } else if !FRAMEWORK_PARAMS.contains(&key) && key != ERROR_PARAM && key != RETRY_PARAM {
            kept.push(pair.to_owned());
        }
    }
    if let Some(encoded) = error {
        let err = decode_error(encoded).unwrap_or(ApiError::Internal);
        kept.extend(to_query(&err).into_iter().map(|(k, v)| format!("{k}={v}")));
    }
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// `location` as a path on this site, or `None` when it leads anywhere else.
fn local_path<'a>(location: &'a str, origins: &Origins) -> Option<&'a str> {
    let path = if location.starts_with('/') {
        location
    } else {
        let (scheme, rest) = location.split_once("://")?;
        let end = rest.find('/').unwrap_or(rest.len());
        let origin = &location[..scheme.len() + 3 + end];
        if !origins.allows(origin) {
            return None;
        }
        match &rest[end..] {
            "" => "/",
            path => path,
        }
    };
    // `//host` and `/\host` are other sites to a browser; control characters have no business.
    let bytes = path.as_bytes();
    let other_host = bytes.get(1).is_some_and(|b| matches!(b, b'/' | b'\\'));
    (!other_host && !path.chars().any(|c| c.is_control() || c == '\\')).then_some(path)
}

/// The error the framework serialised into `__err` (base64url of its JSON).
fn decode_error(encoded: &str) -> Option<ApiError> {
    let engine = GeneralPurpose::new(
        &URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let unpadded = encoded
        .replace("%3D", "")
        .replace("%3d", "")
        .replace('=', "");
    let bytes = engine.decode(unpadded).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::web::csrf::tests::origins;

    fn encoded(err: &ApiError) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(err).unwrap())
    }

    #[test]
    fn a_foreign_or_protocol_relative_target_becomes_the_home_page() {
        for location in [
            "http://evil.example/x?a=1",
            "https://127.0.0.1:3000/",
            "http://127.0.0.1:3001/login",
            "//evil.example/x",
            "/\\evil.example",
            "http://127.0.0.1:3000//evil.example",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_target(location, &origins()), "/", "{location}");
        }
    }

    #[test]
    fn an_own_absolute_target_is_reduced_to_its_path() {
        assert_eq!(
            safe_target("http://127.0.0.1:3000/settings?x=1#top", &origins()),
            "/settings?x=1"
        );
        assert_eq!(safe_target("http://127.0.0.1:3000", &origins()), "/");
    }

    #[test]
    fn the_last_framework_error_becomes_a_code_and_planted_ones_are_dropped() {
        let planted = encoded(&ApiError::BadRequest {
            reason: "call 555".into(),
        });
        let real = encoded(&ApiError::BadCredentials).replace('=', "%3D");
        let location = format!(
            "http://127.0.0.1:3000/login?__path=%2Fapi%2Flogin&__err={planted}&error=internal\
             &__path=%2Fapi%2Flogin&__err={real}"
        );
        assert_eq!(
            safe_target(&location, &origins()),
            "/login?error=bad_credentials"
        );
    }

    #[test]
    fn an_undecodable_error_is_an_internal_one() {
        assert_eq!(
            safe_target("/register?__err=%%%", &origins()),
            "/register?error=internal"
        );
    }
}
