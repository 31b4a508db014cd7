//! The built site's files under `site_root`: precompressed siblings, cache headers, and the
//! page router as the fallback for anything that is not a file. Depends on the composition
//! root's [`AppState`] (for the Leptos options) and the page shell ([`crate::server::page`]) only.

use axum::{Router, http::header};
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

use crate::server::{page::shell, state::AppState};

/// The built site's files: precompressed `.br`/`.gz` siblings when the client accepts them,
/// `Cache-Control: immutable` for the content-hashed bundle under `/pkg/`; anything else is a
/// page (the router's 404).
pub fn router(state: &AppState) -> Router {
    let pages = leptos_axum::file_and_error_handler::<AppState, _>(shell);
    let files = ServeDir::new(state.leptos_options.site_root.as_ref())
        .precompressed_br()
        .precompressed_gzip()
        .fallback(axum::handler::Handler::with_state(pages, state.clone()));
    let cache = if state.leptos_options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Router::new()
        .nest_service(
            "/pkg",
            ServeDir::new(format!("{}/pkg", state.leptos_options.site_root))
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(cache),
        ))
        .fallback_service(files)
}
