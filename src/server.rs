//! The axum server: routes, the `/ws` upgrade, and the run loop with graceful shutdown.
//!
//! [`run`] is what the binary calls: bind, serve until ctrl-c or SIGTERM, then wait for every
//! socket to say goodbye (bounded by `server.shutdown_grace_ms`). [`router`] and [`serve`] are
//! separate so integration tests can start the real server on `127.0.0.1:0`.

pub mod config;
pub mod shutdown;
pub mod socket;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::{FromRef, Query, State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde::Deserialize;
use tokio::net::TcpListener;

use self::{config::Config, shutdown::Shutdown, socket::SocketSettings};
use crate::{
    app::{App, shell},
    protocol::{ProtocolVersion, WS_PATH},
};

/// Why the server could not start or stopped abnormally. `main` maps each to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid; nothing was started.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The listen address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr} (server.listen): {source}")]
    Bind {
        /// The address from the configuration.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The accept loop failed.
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

impl ServerError {
    /// The process exit code for this error: 2 for bad configuration, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => 2,
            Self::Bind { .. } | Self::Serve(_) => 1,
        }
    }
}

/// Everything a request handler may need, cloned cheaply into each one.
#[derive(Clone)]
pub struct AppState {
    /// Leptos rendering options (site root, package directory, output name).
    pub leptos_options: LeptosOptions,
    /// The validated runtime configuration.
    pub config: Arc<Config>,
    /// The server-wide shutdown signal; socket tasks register with it.
    pub shutdown: Shutdown,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Builds the state for `config`, with a fresh shutdown signal.
    pub fn new(config: Config) -> Self {
        Self {
            leptos_options: leptos_options(&config),
            config: Arc::new(config),
            shutdown: Shutdown::new(),
        }
    }
}

/// Leptos options for rendering: the build-time names cargo-leptos passes in the environment
/// when it runs us (reload port, hashed file names), with our own site root and address.
fn leptos_options(config: &Config) -> LeptosOptions {
    let mut options = leptos::config::get_configuration(None)
        .map(|conf| conf.leptos_options)
        .unwrap_or_else(|err| {
            tracing::warn!(%err, "ignoring unusable LEPTOS_* environment; using defaults");
            LeptosOptions::builder().output_name(OUTPUT_NAME).build()
        });
    if options.output_name.is_empty() {
        options.output_name = OUTPUT_NAME.into();
    }
    options.site_root = config.site_root.to_string_lossy().as_ref().into();
    options.site_addr = config.listen;
    options
}

/// The name of the WASM/JS bundle, as set by `output-name` in Cargo.toml.
const OUTPUT_NAME: &str = "switchboard";

/// The complete HTTP surface: pages, `/ws`, `/healthz`, and the built site's static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route(WS_PATH, get(ws_upgrade))
        .route("/healthz", get(healthz))
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until the shutdown signal fires and in-flight HTTP
/// requests finish. Sockets are waited for separately, by [`Shutdown::drained`].
pub async fn serve(listener: TcpListener, state: AppState) -> Result<(), ServerError> {
    let shutdown = state.shutdown.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.triggered().await })
        .await
        .map_err(ServerError::Serve)
}

/// Runs the server with `config` until ctrl-c or SIGTERM, then drains.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let addr = config.listen;
    let grace = config.shutdown_grace;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    // With port 0 the OS picks the port: log the real one (tests and scripts read this line).
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    let state = AppState::new(config);
    let shutdown = state.shutdown.clone();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown::signal().await;
            shutdown.trigger();
        }
    });
    tracing::info!(%addr, "listening");
    serve(listener, state).await?;
    let open = shutdown.running();
    let started = std::time::Instant::now();
    if shutdown.drained(grace).await {
        tracing::info!(
            sockets = open,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "drained"
        );
    } else {
        tracing::warn!(
            remaining = shutdown.running(),
            "shutdown deadline passed; dropping sockets"
        );
    }
    Ok(())
}

async fn healthz() -> &'static str {
    "ok"
}

/// Query string of the upgrade request.
#[derive(Deserialize)]
struct UpgradeQuery {
    /// The protocol version the client speaks; checked after the upgrade so that the client
    /// receives a typed error it can act on (browsers cannot read a refused upgrade's status).
    v: Option<String>,
}

async fn ws_upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<UpgradeQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = origin.is_some_and(|o| state.config.allowed_origins.iter().any(|a| a == o));
    if !allowed {
        tracing::info!(
            origin = origin.unwrap_or("<none>"),
            "refused upgrade: origin not allowed"
        );
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    if state.shutdown.is_triggered() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server shutting down").into_response();
    }
    let offered = query.v.and_then(|v| v.parse().ok()).map(ProtocolVersion);
    let settings = SocketSettings {
        max_frame_bytes: state.config.max_frame_bytes,
        outbound_queue: state.config.outbound_queue,
        heartbeat: state.config.heartbeat,
    };
    let shutdown = state.shutdown.clone();
    // The library's own limit sits above ours so that a frame just over the limit still gets a
    // typed error from the socket loop; far larger ones are cut off before they are buffered.
    let hard_limit = settings.max_frame_bytes.saturating_mul(4).max(64 << 10);
    upgrade
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| {
            use futures::StreamExt;
            let (writer, reader) = socket.split();
            let task = socket::serve(writer, reader, offered, settings, shutdown.clone());
            shutdown.track(task)
        })
}
