//! Running the server: [`run`] is what the binary calls — bind, serve until ctrl-c or SIGTERM,
//! then wait for every socket to say goodbye (bounded by `server.shutdown_grace_ms`). [`serve`]
//! is separate so integration tests can start the real server on `127.0.0.1:0`.
//!
//! The top of the server: it puts the router ([`super::http`]) and the admin endpoints on
//! their listeners. Nothing else in the server depends on it.

use std::sync::Arc;

use tokio::net::TcpListener;

use super::{
    admin,
    config::Config,
    error::ServerError,
    http,
    listener::{Listener, activity::Timeouts, capacity::Capacity},
    shutdown::{self, Shutdown},
    state::AppState,
};

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
    Listener::new(listener, http::router(state), capacity, timeouts, shutdown)
        .run()
        .await;
    Ok(())
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
            admin::router(state.clone()),
            capacity,
            timeouts(&state.config),
            shutdown.clone(),
        );
        // Stops accepting at shutdown, like the main listener.
        shutdown.spawn(admin.run());
    }
    shutdown.spawn(trigger_on_signal(shutdown.clone()));
    tracing::info!(%addr, "listening");
    serve(listener, state).await?;
    let open = shutdown.running();
    let started = std::time::Instant::now();
    if shutdown.drained(grace).await {
        tracing::info!(
            tasks = open,
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

/// Triggers `shutdown` on ctrl-c or SIGTERM; ends without waiting for one if shutdown began
/// some other way.
async fn trigger_on_signal(shutdown: Shutdown) {
    tokio::select! {
        () = shutdown::signal() => shutdown.trigger(),
        () = shutdown.triggered() => {}
    }
}
