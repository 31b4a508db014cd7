//! The HTTP surface of the main listener, assembled in [`router`]: the Leptos pages, the `/api`
//! server functions (with [`api_status`] giving their errors real statuses), `/ws` (mounted
//! from [`upgrade`](crate::server::upgrade)), the built site's files ([`static_files`]), the
//! admin endpoints behind `server.admin_token`, the request body limit and timeout
//! ([`body_timeout`]), and around all of it the browser protections of
//! [`web`](crate::server::web).
//!
//! Sits above the composition root (it takes an [`AppState`]) and below `run`, which serves it;
//! nothing under it may depend on it.

pub mod api_status;
pub mod body_timeout;
mod static_files;

use axum::Router;
use leptos_axum::{LeptosRoutes, generate_route_list};

use super::page::shell;
use super::{admin, state::AppState, upgrade, web};
use crate::app::App;

/// The largest request body accepted (forms and server-function calls are small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The complete HTTP surface: pages, `/api` server functions, `/ws`, the built site's static
/// files, and the admin endpoints behind `server.admin_token` (see [`admin`]); all of it behind
/// the browser protections of [`web`].
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let app = admin::on_main_listener(&state)
        .merge(upgrade::routes())
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback_service(static_files::router(&state))
        // Pages and API answers go out brotli- or gzip-compressed when the browser takes it
        // (the built site's files are precompressed and already carry their encoding, which
        // the layer leaves alone). No page holds a token whose theft would let a cross-site
        // request through (the CSRF defence is the Origin check; the session cookie is
        // HttpOnly and never in a page), which is what BREACH-style size guessing goes after.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::map_response(api_status::api_error_status))
        .layer(axum::middleware::from_fn_with_state(
            state.config.body_timeout,
            body_timeout::read_body_within,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ));
    web::protect(app, &state.config).with_state(state)
}
