//! The composition root: [`AppState::open`] builds every part of a running server from the
//! configuration — the store (waiting for Postgres if need be), the cluster bus, the routing hub, the
//! committer, accounts, the live-socket table, metrics, the readiness check and the Leptos
//! options — and [`AppState`] hands them to the routes.
//!
//! Everything that serves requests (`http`, `upgrade`, `admin`, `run`) sits above this module;
//! it depends only on the layers below them (config, store, routing, cluster, committer, accounts,
//! live, connection, listener caps, shutdown, metrics), never on a route.

mod leptos_options;
mod readiness;

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

pub use self::readiness::{Readiness, SQLITE_PROBE_INTERVAL};
use super::{
    accounts::Accounts,
    cluster,
    committer::Committer,
    config::{self, Config},
    connection::{Services, requests::Limits},
    error::ServerError,
    listener::capacity::Capacity,
    live::Live,
    metrics,
    routing::Hub,
    shutdown::Shutdown,
    store::{Store, StoreError},
};

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
    pub readiness: Arc<Readiness>,
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
        store.start_upkeep(&shutdown);
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
            readiness: Readiness::start(&store, &shutdown),
            leptos_options: leptos_options::from_config(&config),
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
pub async fn open_store(config: &Config) -> Result<Store, ServerError> {
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
