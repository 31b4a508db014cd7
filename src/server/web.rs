//! What protects a browser that uses switchboard from other sites: the cross-site request check
//! ([`csrf`]), the redirect and error rules of no-JS form posts ([`form_redirect`]), and the
//! security headers on every answer ([`headers`]).
//!
//! [`protect`] wraps the whole HTTP surface in all three, in one place, so that no route can be
//! added without them.
//!
//! Depends on the configuration (and names the composition root's `AppState` as the router's
//! state type); it knows no route, so the router ([`super::http`]) can wrap itself in it.

pub mod csrf;
pub mod form_redirect;
pub mod headers;

use std::sync::Arc;

use axum::{Router, middleware};

use super::{config::Config, state::AppState};

/// Wraps `router` in the three layers. From the outside in: the headers (so that refusals get
/// them too), the cross-site check (before any body is read), the redirect rewrite.
pub fn protect(router: Router<AppState>, config: &Config) -> Router<AppState> {
    let policy = Arc::new(headers::Policy::new(config));
    let origins = Arc::new(csrf::Origins::new(config));
    router
        .layer(middleware::from_fn_with_state(
            Arc::clone(&origins),
            form_redirect::rewrite,
        ))
        .layer(middleware::from_fn_with_state(origins, csrf::guard))
        .layer(middleware::from_fn_with_state(policy, headers::secure))
}
