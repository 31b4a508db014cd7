//! The cross-site request check: a request that can change state (any method but GET, HEAD and
//! OPTIONS) must come from one of the app's own pages.
//!
//! Cookies are sent with requests that other pages start, and `SameSite=Lax` does not stop a
//! page on another port or a sibling subdomain (those are the same *site*). So every unsafe
//! request is judged by who started it, in this order:
//!
//! 1. `Origin` present: it must be one of `websocket.allowed_origins`, the list `/ws` uses.
//!    Browsers send it on every `POST`, form or `fetch`, same-origin or not.
//! 2. No `Origin`, but `Sec-Fetch-Site` present: it must be `same-origin`.
//! 3. Neither: not a browser. Accepted only with an `Authorization` header, without a `Cookie`,
//!    and only while `websocket.allow_token_without_origin` is on; a forged request cannot carry
//!    the victim's token, while a cookie is exactly what a forgery rides on. This is the `/ws`
//!    rule: no Origin and no credential is refused.
//!
//! The body must be `application/x-www-form-urlencoded`, the one encoding the server functions
//! read: `text/plain` and a missing type are what a cross-site form or a "simple" `fetch` can
//! send without the browser asking first, so they are refused (415) however the origin looks.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::server::config::Config;

/// The one body encoding unsafe requests may use.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Why a request that could change state was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    /// `Origin` names a page that is not the app's.
    #[error("origin not allowed")]
    ForeignOrigin,
    /// No `Origin`, and the browser says another page started the request.
    #[error("cross-site request refused")]
    CrossSite,
    /// Neither `Origin` nor `Sec-Fetch-Site`, and no bearer token alone to vouch for it.
    #[error(
        "no Origin: send the Origin of an allowed page, or an Authorization bearer token without a cookie"
    )]
    NoOrigin,
    /// The body is not a URL-encoded form.
    #[error("unsupported content type: send application/x-www-form-urlencoded")]
    ContentType,
}

impl CsrfError {
    /// 415 for the wrong body encoding, 403 for the wrong sender.
    pub fn status(self) -> StatusCode {
        match self {
            Self::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ForeignOrigin | Self::CrossSite | Self::NoOrigin => StatusCode::FORBIDDEN,
        }
    }
}

/// The part of the configuration the check and the redirect rewrite read.
#[derive(Debug)]
pub struct Origins {
    /// `websocket.allowed_origins`: the app's own pages, exactly as browsers spell `Origin`.
    pub allowed: Vec<String>,
    /// `websocket.allow_token_without_origin`: whether a bearer token may stand in for `Origin`.
    pub token_without_origin: bool,
}

impl Origins {
    /// Takes the two keys from `config`.
    pub fn new(config: &Config) -> Self {
        Self {
            allowed: config.allowed_origins.clone(),
            token_without_origin: config.allow_token_without_origin,
        }
    }

    /// Whether `origin` (`scheme://host[:port]`) is one of the app's own.
    pub fn allows(&self, origin: &str) -> bool {
        self.allowed.iter().any(|a| a == origin)
    }

    /// Judges one request by its method and headers (see the module documentation).
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), CsrfError> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        match (headers.get(header::ORIGIN), headers.get("sec-fetch-site")) {
            (Some(origin), _) => {
                if !origin.to_str().is_ok_and(|o| self.allows(o)) {
                    return Err(CsrfError::ForeignOrigin);
                }
            }
            (None, Some(site)) => {
                if site.as_bytes() != b"same-origin" {
                    return Err(CsrfError::CrossSite);
                }
            }
            (None, None) => {
                let bearer_alone = headers.contains_key(header::AUTHORIZATION)
                    && !headers.contains_key(header::COOKIE);
                if !(bearer_alone && self.token_without_origin) {
                    return Err(CsrfError::NoOrigin);
                }
            }
        }
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case(FORM_CONTENT_TYPE));
        if form {
            Ok(())
        } else {
            Err(CsrfError::ContentType)
        }
    }
}

/// The middleware: refuses with the error's status and text before the body is read.
pub async fn guard(State(origins): State<Arc<Origins>>, request: Request, next: Next) -> Response {
    match origins.check(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(err) => {
            tracing::info!(
                path = request.uri().path(),
                origin = ?request.headers().get(header::ORIGIN),
                %err,
                "refused a cross-site request"
            );
            (err.status(), err.to_string()).into_response()
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The origins every test of the web layer runs with.
    pub(in crate::server::web) fn origins() -> Origins {
        Origins {
            allowed: vec!["http://127.0.0.1:3000".into()],
            token_without_origin: true,
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    #[test]
    fn safe_methods_pass_whatever_their_headers() {
        let foreign = headers(&[("origin", "http://evil.example")]);
        assert_eq!(origins().check(&Method::GET, &foreign), Ok(()));
        assert_eq!(origins().check(&Method::HEAD, &foreign), Ok(()));
    }

    #[test]
    fn the_content_type_is_judged_without_parameters_or_case() {
        let ok = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            (
                "content-type",
                "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            ),
        ]);
        assert_eq!(origins().check(&Method::POST, &ok), Ok(()));
        let json = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("content-type", "application/json"),
        ]);
        assert_eq!(
            origins().check(&Method::POST, &json),
            Err(CsrfError::ContentType)
        );
    }

    #[test]
    fn sec_fetch_site_stands_in_for_a_missing_origin_only_when_same_origin() {
        let same = headers(&[("sec-fetch-site", "same-origin"), FORM]);
        assert_eq!(origins().check(&Method::POST, &same), Ok(()));
        for site in ["same-site", "cross-site", "none"] {
            let map = headers(&[("sec-fetch-site", site), FORM]);
            assert_eq!(
                origins().check(&Method::POST, &map),
                Err(CsrfError::CrossSite),
                "{site}"
            );
        }
    }

    #[test]
    fn without_origin_a_bearer_token_passes_only_without_a_cookie_and_when_allowed() {
        let bearer = headers(&[("authorization", "Bearer sbt_x"), FORM]);
        assert_eq!(origins().check(&Method::POST, &bearer), Ok(()));
        let both = headers(&[("authorization", "Bearer sbt_x"), ("cookie", "s=1"), FORM]);
        assert_eq!(
            origins().check(&Method::POST, &both),
            Err(CsrfError::NoOrigin)
        );
        let strict = Origins {
            token_without_origin: false,
            ..origins()
        };
        assert_eq!(
            strict.check(&Method::POST, &bearer),
            Err(CsrfError::NoOrigin)
        );
    }
}
