//! Security headers on every answer.
//!
//! - `Content-Security-Policy`. Pages get [`Policy::page`]: scripts only from this site plus the
//!   one inline hydration script, pinned by a nonce made fresh for each response (see
//!   [`CspNonce`]); `'wasm-unsafe-eval'` so that the browser may compile the app's WASM; no
//!   plugins, no `<base>`, forms post only here, and no framing. Everything else gets
//!   [`NOT_A_PAGE`], which allows nothing at all.
//! - `X-Frame-Options: DENY` (older browsers' `frame-ancestors`), `X-Content-Type-Options:
//!   nosniff`, `Referrer-Policy: same-origin` (the no-JS form flow needs a same-origin
//!   `Referer`; other sites get none), `Cross-Origin-Opener-Policy: same-origin`.
//! - `Cache-Control: no-store` on pages and `/api` answers, which carry private data; the
//!   built `/pkg` files keep their own caching.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::server::config::Config;

/// The policy of everything that is not a page: nothing may load, nothing may frame it.
pub const NOT_A_PAGE: &str = "default-src 'none'; base-uri 'none'; form-action 'none'; \
                              frame-ancestors 'none'";

/// This response's nonce, put in the request's extensions for the page shell to adopt (so that
/// the hydration script carries the nonce the header names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CspNonce(pub String);

impl CspNonce {
    /// 128 random bits, base64url; `None` only if the OS has no randomness to give.
    fn fresh() -> Option<Self> {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).ok()?;
        Some(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }
}

/// Makes the page being rendered use this response's nonce: called by `page::shell`, before the
/// hydration script is rendered (the framework would otherwise pick its own, which the header
/// does not name).
pub fn adopt_nonce() {
    use leptos::prelude::{provide_context, use_context};
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(nonce)) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}

/// The page policy's fixed parts, worked out once from the configuration.
#[derive(Debug)]
pub struct Policy {
    /// `connect-src`: this site, and the `ws:`/`wss:` of each allowed origin (the socket).
    connect_src: String,
}

impl Policy {
    /// The policy for the configured origins.
    pub fn new(config: &Config) -> Self {
        let mut connect_src = String::from("'self'");
        for origin in &config.allowed_origins {
            let socket = if let Some(host) = origin.strip_prefix("https://") {
                format!("wss://{host}")
            } else if let Some(host) = origin.strip_prefix("http://") {
                format!("ws://{host}")
            } else {
                continue;
            };
            connect_src.push(' ');
            connect_src.push_str(&socket);
        }
        Self { connect_src }
    }

    /// The `Content-Security-Policy` of a page whose inline script carries `nonce`.
    pub fn page(&self, nonce: &CspNonce) -> String {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{}' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self'; font-src 'self'; connect-src {}; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            nonce.0, self.connect_src
        )
    }
}

/// The middleware: makes the nonce, then sets every header on the answer.
pub async fn secure(
    State(policy): State<Arc<Policy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let private = !path.starts_with("/pkg/");
    // `/api` answers and the socket upgrade never render a page: no nonce for them (it would
    // cost a random draw and an allocation on every upgrade for nothing).
    let may_render = !path.starts_with("/api/") && path != crate::protocol::WS_PATH;
    let nonce = if may_render { CspNonce::fresh() } else { None };
    if let Some(nonce) = &nonce {
        request.extensions_mut().insert(nonce.clone());
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let page = is_html(headers);
    let csp = match (&nonce, page) {
        (Some(nonce), true) => HeaderValue::from_str(&policy.page(nonce)).ok(),
        _ => Some(HeaderValue::from_static(NOT_A_PAGE)),
    };
    if let Some(csp) = csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if page || private && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Whether the answer is an HTML document.
fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_of_each_allowed_origin_may_be_connected_to() {
        let config = Config {
            allowed_origins: vec![
                "http://127.0.0.1:3000".into(),
                "https://chat.example".into(),
            ],
            ..Config::default()
        };
        let csp = Policy::new(&config).page(&CspNonce("n0nce".into()));
        assert!(csp.contains("connect-src 'self' ws://127.0.0.1:3000 wss://chat.example;"));
        assert!(csp.contains("'nonce-n0nce'"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn nonces_differ_from_one_response_to_the_next() {
        let a = CspNonce::fresh().unwrap();
        let b = CspNonce::fresh().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.0.len(), 22);
    }
}
