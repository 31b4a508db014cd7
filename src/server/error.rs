//! [`ServerError`]: why the server could not start or stopped abnormally, and the exit code
//! `main` gives each.
//!
//! A leaf of the server: it names the errors of the lower layers (configuration, store, auth)
//! and must not depend on routes, connections or the composition root.

use std::net::SocketAddr;

use super::{config::ConfigError, store::StoreError};

/// Why the server could not start or stopped abnormally. `main` maps each to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid; nothing was started.
    #[error(transparent)]
    Config(#[from] ConfigError),
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
