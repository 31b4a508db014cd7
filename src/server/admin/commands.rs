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
    state::{AppState, open_store},
    store::{self, Store, StoreError},
};

/// `switchboard admin backup --to <file>`: a consistent copy of the configured database, taken
/// while the server runs. SQLite only: a Postgres database is backed up with its own tools.
pub async fn backup(config: &Config, to: &Path) -> Result<u64, ServerError> {
    refuse_postgres(config, "backup")?;
    Store::backup_sqlite(&config.database_path, to)
        .await
        .map_err(|source| sqlite_error(config, source))
}

/// A store error of an admin command on the configured SQLite file.
fn sqlite_error(config: &Config, source: StoreError) -> ServerError {
    ServerError::Store {
        path: config.database_path.clone(),
        source,
    }
}

/// `switchboard admin restore --from <file>`: replaces the configured SQLite database with a
/// backup, atomically and with a new store epoch, while no server uses it.
pub async fn restore(config: &Config, from: &Path) -> Result<store::Restored, ServerError> {
    refuse_postgres(config, "restore")?;
    Store::restore_sqlite(&config.database_path, from)
        .await
        .map_err(|source| sqlite_error(config, source))
}

/// `switchboard admin new-epoch`: a new store epoch for the configured database, after the
/// operator put back data by other means (a Postgres dump, a file copied by hand), so clients
/// drop cursors that could now name other events.
pub async fn new_epoch(config: &Config) -> Result<crate::protocol::Epoch, ServerError> {
    let failed = |source| ServerError::Store {
        path: config
            .database_url
            .as_ref()
            .map_or_else(|| config.database_path.clone(), |_| "database.url".into()),
        source,
    };
    if config.database_url.is_none() {
        return Store::new_epoch_sqlite(&config.database_path)
            .await
            .map_err(failed);
    }
    open_store(config)
        .await?
        .new_epoch_postgres()
        .await
        .map_err(failed)
}

/// Refuses an admin command that works on the SQLite file when `database.url` names Postgres.
fn refuse_postgres(config: &Config, command: &str) -> Result<(), ServerError> {
    if config.database_url.is_none() {
        return Ok(());
    }
    Err(ServerError::Store {
        path: "database.url".into(),
        source: StoreError::Refused(format!(
            "`admin {command}` works on the SQLite file only, and database.url names Postgres: \
             use pg_dump / pg_restore with every node stopped, then `switchboard admin new-epoch`"
        )),
    })
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
