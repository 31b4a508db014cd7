//! The `switchboard admin …` commands `main.rs` runs without serving: `provision`, `backup`,
//! `restore` and `new-epoch`, each on the configured database.
//!
//! Depends on the composition root (provision builds the whole state, so users are made
//! exactly as the server makes them), the store and the error enum; the request path never
//! depends on it.

use std::path::Path;

use crate::server::{
    accounts,
    config::Config,
    error::ServerError,
    state::AppState,
    store::{self, Store, StoreError},
};

/// `switchboard admin backup --to <file>`: a consistent copy of the configured database, taken
/// while the server runs (SQLite: the file; Postgres: a logical export, see `store::backup`).
pub async fn backup(config: &Config, to: &Path) -> Result<u64, ServerError> {
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
pub async fn restore(config: &Config, from: &Path) -> Result<store::Restored, ServerError> {
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
