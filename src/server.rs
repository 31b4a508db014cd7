//! The axum server: routes, and the run loop with graceful shutdown.
//!
//! [`run`] is what the binary calls: bind, serve until ctrl-c or SIGTERM, then wait for every
//! socket to say goodbye (bounded by `server.shutdown_grace_ms`). [`router`] and [`serve`] are
//! separate so integration tests can start the real server on `127.0.0.1:0`. Connections are
//! accepted, capped and timed by [`listener`]; the `/ws` upgrade lives in [`upgrade`].

pub mod accounts;
pub mod admin;
pub mod clock;
pub mod cluster;
pub mod committer;
pub mod config;
pub mod listener;
pub mod live;
pub mod metrics;
pub mod requests;
pub mod routing;
pub mod shutdown;
pub mod socket;
pub mod store;
pub mod upgrade;
pub mod web;
pub mod wire;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    body::Body,
    extract::FromRef,
    http::{StatusCode, header},
    response::Response,
    routing::get,
};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;

use self::{
    accounts::Accounts,
    committer::Committer,
    config::Config,
    listener::{Listener, activity::Timeouts, capacity::Capacity},
    live::Live,
    requests::Limits,
    routing::Hub,
    shutdown::Shutdown,
    socket::Services,
    store::{Store, StoreError},
};
use crate::{
    app::{App, shell},
    auth::ApiError,
    protocol::WS_PATH,
};

/// The largest request body accepted (forms and server-function calls are small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why the server could not start or stopped abnormally. `main` maps each to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid; nothing was started.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The database could not be opened or migrated (`path` is the file, or `database.url`).
    #[error("cannot open the database {path}: {source}")]
    Store {
        /// The configured database file.
        path: std::path::PathBuf,
        /// Why.
        source: StoreError,
    },
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
    /// Cluster mode could not start (a bad `cluster.redis_url`).
    #[error("cannot join the cluster: {0}")]
    Cluster(String),
    /// `admin provision` was refused (a name is invalid or taken, or the store failed).
    #[error("cannot provision users: {0}")]
    Provision(crate::auth::ApiError),
}

impl ServerError {
    /// The process exit code for this error: 2 for bad configuration, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => 2,
            Self::Bind { .. }
            | Self::Serve(_)
            | Self::Store { .. }
            | Self::Cluster(_)
            | Self::Provision(_) => 1,
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
    /// Accounts, sessions and tokens.
    pub accounts: Arc<Accounts>,
    /// Open sockets by credential, for revocation, and by user, for `limits.sockets_per_user`.
    pub live: Arc<Live>,
    /// The main listener's connection caps; the upgrade checks its WebSocket cap.
    pub capacity: Arc<Capacity>,
    /// What every connection routes through: hub, store, committer, limits.
    pub services: Services,
    /// What `/readyz` answers from, without touching the database itself.
    pub readiness: Arc<admin::Readiness>,
    /// Cluster mode: this node's end of the bus (`/readyz` pings it).
    pub cluster: Option<cluster::Bus>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Opens the database named in `config` (and, in cluster mode, joins the bus) and builds
    /// the state, with a fresh shutdown signal.
    pub async fn open(config: Config) -> Result<Self, ServerError> {
        metrics::install();
        let shutdown = Shutdown::new();
        let store = open_store(&config).await?;
        let live = Arc::new(Live::default());
        let bus = match &config.redis_url {
            Some(url) => Some(
                cluster::Bus::connect(
                    url,
                    &config
                        .node_id
                        .clone()
                        .unwrap_or_else(config::default_node_id),
                    config.presence_ttl,
                )
                .await
                .map_err(ServerError::Cluster)?,
            ),
            None => None,
        };
        let hub = Arc::new(match &bus {
            Some((bus, _)) => Hub::new(store.clone(), Arc::new(bus.clone())),
            None => Hub::alone(store.clone()),
        });
        let cluster = bus.map(|(bus, outbox)| {
            tracing::info!(node = bus.node(), "cluster mode: joined the bus");
            live.tell_peers(Arc::new(bus.clone()));
            let (hub, live) = (Arc::clone(&hub), Arc::clone(&live));
            bus.start(outbox, hub, live, config.sweep, &shutdown);
            bus
        });
        let services = Services {
            committer: Committer::start(store.clone(), Arc::clone(&hub), &shutdown),
            hub,
            store: store.clone(),
            limits: Arc::new(Limits::new(&config)),
        };
        Ok(Self {
            readiness: admin::Readiness::start(&store),
            leptos_options: leptos_options(&config),
            services,
            accounts: Arc::new(Accounts::new(store, Arc::clone(&live), &config)),
            live,
            capacity: Arc::new(Capacity::from_config(&config)),
            config: Arc::new(config),
            shutdown,
            cluster,
        })
    }
}

/// Opens the configured store: Postgres when `database.url` is set (waiting, with backoff, for
/// it to answer), else the SQLite file.
async fn open_store(config: &Config) -> Result<Store, ServerError> {
    let Some(url) = &config.database_url else {
        return Store::open_sqlite(&config.database_path)
            .await
            .map_err(|source| ServerError::Store {
                path: config.database_path.clone(),
                source,
            });
    };
    let mut backoff = std::time::Duration::from_millis(100);
    loop {
        match Store::open_postgres(url).await {
            Ok(store) => return Ok(store),
            Err(source @ StoreError::Refused(_)) => {
                return Err(ServerError::Store {
                    path: "database.url".into(),
                    source,
                });
            }
            Err(err) => {
                tracing::warn!(%err, retry_in_ms = backoff.as_millis() as u64, "cannot reach Postgres (database.url); retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
}

/// Leptos options for rendering: the build-time names cargo-leptos passes in the environment
/// when it runs us (reload port, hashed file names), with our own site root and address.
fn leptos_options(config: &Config) -> LeptosOptions {
    // Outside cargo-leptos (a deployed binary, `cargo test`) there is no LEPTOS_* environment.
    let under_cargo_leptos = std::env::var_os("LEPTOS_OUTPUT_NAME").is_some()
        || option_env!("LEPTOS_OUTPUT_NAME").is_some();
    let mut options = under_cargo_leptos
        .then(|| leptos::config::get_configuration(None))
        .and_then(|conf| match conf {
            Ok(conf) => Some(conf.leptos_options),
            Err(err) => {
                tracing::warn!(%err, "ignoring unusable LEPTOS_* environment; using defaults");
                None
            }
        })
        .unwrap_or_else(|| LeptosOptions::builder().output_name(OUTPUT_NAME).build());
    if options.output_name.is_empty() {
        options.output_name = OUTPUT_NAME.into();
    }
    options.site_root = config.site_root.to_string_lossy().as_ref().into();
    // cargo-leptos writes the hashed file names next to the server binary; leptos reads them
    // from there. A binary without that file serves the plain names.
    options.hash_files = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(options.hash_file.as_ref())))
        .is_some_and(|file| file.is_file());
    options.site_addr = config.listen;
    options
}

/// The built site's files: precompressed `.br`/`.gz` siblings when the client accepts them,
/// `Cache-Control: immutable` for the content-hashed bundle under `/pkg/`; anything else is a
/// page (the router's 404).
fn static_files(state: &AppState) -> Router {
    use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};
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

/// The name of the WASM/JS bundle, as set by `output-name` in Cargo.toml.
const OUTPUT_NAME: &str = "switchboard";

/// `/healthz`, `/readyz` and `/metrics` without a token, for `server.admin_listen`.
pub fn admin_router(state: AppState) -> Router {
    admin::routes().with_state(state)
}

/// The complete HTTP surface: pages, `/api` server functions, `/ws`, the built site's static
/// files, and the admin endpoints behind `server.admin_token` (see [`admin`]); all of it behind
/// the browser protections of [`web`].
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let app = admin::on_main_listener(&state)
        .route(WS_PATH, get(upgrade::ws_upgrade))
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback_service(static_files(&state))
        .layer(axum::middleware::map_response(api_error_status))
        .layer(axum::middleware::from_fn_with_state(
            state.config.body_timeout,
            listener::body_timeout::read_body_within,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ));
    web::protect(app, &state.config).with_state(state)
}

/// Server functions answer every error with 500; this gives each [`ApiError`] its own status
/// ([`ApiError::status`]), so clients see 400/401/409/429 for their mistakes and 500 only for
/// ours. Plain-form posts are redirects and pass through untouched.
async fn api_error_status(response: Response) -> Response {
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

/// Connections the admin listener holds at once (and per address): a few scrapers and probes.
/// It has caps of its own so that `/healthz` there answers however full the main listener is.
const ADMIN_CONNECTIONS: usize = 64;

/// The HTTP clocks of both listeners, from the configuration.
fn timeouts(config: &Config) -> Timeouts {
    Timeouts {
        header: config.header_timeout,
        keepalive: config.keepalive_timeout,
    }
}

/// Serves `router(state)` on `listener` until the shutdown signal fires and in-flight HTTP
/// requests finish. Sockets are waited for separately, by [`Shutdown::drained`].
pub async fn serve(listener: TcpListener, state: AppState) -> Result<(), ServerError> {
    let capacity = Arc::clone(&state.capacity);
    tracing::debug!(
        max_connections = capacity.max_connections(),
        max_websockets = capacity.max_websockets(),
        "connection caps"
    );
    let timeouts = timeouts(&state.config);
    let shutdown = state.shutdown.clone();
    Listener::new(listener, router(state), capacity, timeouts, shutdown)
        .run()
        .await;
    Ok(())
}

/// `switchboard admin backup --to <file>`: a consistent copy of the configured database, taken
/// while the server runs.
pub async fn backup(config: &Config, to: &std::path::Path) -> Result<u64, ServerError> {
    Store::backup(location(config), to)
        .await
        .map_err(|source| admin_error(config, source))
}

/// Where the configured store lives.
fn location(config: &Config) -> store::Location<'_> {
    match &config.database_url {
        Some(url) => store::Location::Url(url),
        None => store::Location::File(&config.database_path),
    }
}

/// A store error of an admin command on the configured database.
fn admin_error(config: &Config, source: StoreError) -> ServerError {
    ServerError::Store {
        path: config
            .database_url
            .as_ref()
            .map_or_else(|| config.database_path.clone(), |_| "database.url".into()),
        source,
    }
}

/// `switchboard admin restore --from <file>`: replaces the configured database with a backup,
/// atomically and with a new store epoch, while no server uses it.
pub async fn restore(
    config: &Config,
    from: &std::path::Path,
) -> Result<store::Restored, ServerError> {
    Store::restore(location(config), from)
        .await
        .map_err(|source| admin_error(config, source))
}

/// `switchboard admin new-epoch`: a new store epoch for the configured database, after the
/// operator put back data by other means (a file copied by hand, a Postgres dump), so clients
/// drop cursors that could now name other events.
pub async fn new_epoch(config: &Config) -> Result<crate::protocol::Epoch, ServerError> {
    Store::new_epoch(location(config))
        .await
        .map_err(|source| admin_error(config, source))
}

/// `switchboard admin provision`: creates `count` users named `<prefix><n>` with an access token
/// each in the configured database, without starting the server.
pub async fn provision(
    config: Config,
    prefix: &str,
    count: usize,
) -> Result<Vec<accounts::Provisioned>, ServerError> {
    let state = AppState::open(config).await?;
    state
        .accounts
        .provision(prefix, count)
        .await
        .map_err(ServerError::Provision)
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
    let admin = match config.admin_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { addr, source })?,
        ),
        None => None,
    };
    let state = AppState::open(config).await?;
    let shutdown = state.shutdown.clone();
    if let Some(admin) = admin {
        let addr = admin.local_addr().map_err(ServerError::Serve)?;
        tracing::info!(%addr, "admin endpoints listening");
        let capacity = Arc::new(Capacity::new(ADMIN_CONNECTIONS, ADMIN_CONNECTIONS));
        let admin = Listener::new(
            admin,
            admin_router(state.clone()),
            capacity,
            timeouts(&state.config),
            shutdown.clone(),
        );
        tokio::spawn(admin.run());
    }
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
