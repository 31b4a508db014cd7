//! Runtime configuration: `Leptos.toml`, overridden key by key by environment variables.
//!
//! cargo-leptos reads its *build* settings from `[package.metadata.leptos]` in Cargo.toml; this
//! module is what a deployed server reads at start-up. Every key has a default, so a missing file
//! is fine. Every key `section.name` can be overridden by `SWITCHBOARD_SECTION_NAME`. A value that
//! does not parse, or a key we do not know, stops the server with an error naming the key and the
//! value. [`KEYS`] is the single list of keys; the README documents each of them.
//!
//! Here: the keys, [`Config`] and its loading. `config/sources.rs` looks values up and parses
//! numbers, durations and lists; `config/checks.rs` holds the rules of the keys that are more
//! than that. A leaf of the server: it depends on nothing else in it.

mod checks;
mod sources;
#[cfg(test)]
mod tests;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

pub use self::checks::default_node_id;
use self::sources::{Sources, reject_unknown_keys};

/// Where the configuration file is looked for when neither `--config` nor `SWITCHBOARD_CONFIG`
/// names one.
pub const DEFAULT_PATH: &str = "Leptos.toml";

/// Every key the server understands, with its default, in file order. Unknown keys are refused
/// so that a typo cannot silently fall back to a default.
pub const KEYS: &[(&str, &str)] = &[
    ("server.listen", "127.0.0.1:3000"),
    ("server.site_root", "target/site"),
    ("server.shutdown_grace_ms", "10000"),
    ("server.admin_listen", ""),
    ("server.admin_token", ""),
    ("server.log_format", "text"),
    ("server.header_timeout_ms", "10000"),
    ("server.body_timeout_ms", "30000"),
    ("server.keepalive_timeout_ms", "75000"),
    ("server.handshake_timeout_ms", "10000"),
    ("database.path", "switchboard.db"),
    ("database.url", ""),
    (
        "websocket.allowed_origins",
        "http://127.0.0.1:3000,http://localhost:3000",
    ),
    ("websocket.heartbeat_ms", "20000"),
    ("websocket.allow_token_without_origin", "true"),
    ("auth.session_ttl_secs", "2592000"),
    ("auth.session_idle_secs", "604800"),
    ("auth.secure_cookie", "false"),
    ("auth.login_failures_per_pair", "5"),
    ("auth.login_failures_per_account", "10"),
    ("auth.login_backoff_max_secs", "900"),
    ("auth.login_attempts_per_address", "20"),
    ("limits.max_frame_bytes", "65536"),
    ("limits.outbound_bytes", "4194304"),
    ("limits.slow_client_ms", "10000"),
    ("limits.max_body_chars", "4000"),
    ("limits.messages_per_second", "50"),
    ("limits.changes_per_minute", "120"),
    ("limits.reads_per_second", "20"),
    ("limits.marks_per_second", "20"),
    ("limits.actions_per_second", "10"),
    ("limits.searches_per_minute", "120"),
    ("limits.max_connections", "0"),
    ("limits.connections_per_address", "256"),
    ("limits.sockets_per_user", "64"),
    ("messages.edit_window_secs", "86400"),
    ("cluster.redis_url", ""),
    ("cluster.node_id", ""),
    ("cluster.presence_ttl_ms", "10000"),
    ("cluster.sweep_ms", "1000"),
];

/// The server's runtime configuration, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Address the HTTP and WebSocket listener binds to.
    pub listen: SocketAddr,
    /// Directory holding the built site (`pkg/`, CSS, assets) that the server serves.
    pub site_root: PathBuf,
    /// How long a graceful shutdown may take before remaining connections are dropped.
    pub shutdown_grace: Duration,
    /// Where `/metrics`, `/healthz` and `/readyz` are served instead of `listen`, if set.
    pub admin_listen: Option<SocketAddr>,
    /// The bearer token that opens `/metrics`, `/healthz` and `/readyz` on `listen` (never
    /// needed on `admin_listen`); without one they are not served on `listen` at all, so that
    /// nobody on the public address can read metrics or make the server probe its database.
    pub admin_token: Option<String>,
    /// Log lines as human-readable text, or as one JSON object per line.
    pub log_json: bool,
    /// A request's head (request line and headers) must arrive within this, counted from the
    /// connection's accept, or on a kept-alive connection from the next request's first byte;
    /// slowloris sockets are closed.
    pub header_timeout: Duration,
    /// A request's body must arrive within this once its head has.
    pub body_timeout: Duration,
    /// An HTTP connection idle since its last response (no byte of a next request) is closed
    /// after this long.
    pub keepalive_timeout: Duration,
    /// A WebSocket must send `resume` within this after the upgrade, or it is closed.
    pub handshake_timeout: Duration,
    /// The SQLite database file, created on first start (when `database_url` is not set).
    pub database_path: PathBuf,
    /// A Postgres URL (`postgres://…`): the store for cluster mode, instead of SQLite.
    pub database_url: Option<String>,
    /// Cluster mode: the Redis that carries live fan-out and presence between nodes.
    pub redis_url: Option<String>,
    /// This node's name on the bus (unique per running process); `None`: one is generated.
    pub node_id: Option<String>,
    /// A node not heard from for this long is taken for dead, and its users for offline.
    pub presence_ttl: Duration,
    /// How often a node checks the store for events it did not hear of on the bus.
    pub sweep: Duration,
    /// Exact `Origin` values allowed to open `/ws` (scheme, host and port; no path).
    pub allowed_origins: Vec<String>,
    /// The heartbeat interval: the server pings a connection silent this long and closes one
    /// silent for two intervals.
    pub heartbeat: Duration,
    /// Whether a request with no `Origin` (a bot, a CLI) may open `/ws` with an access token.
    pub allow_token_without_origin: bool,
    /// Absolute lifetime of a browser session.
    pub session_ttl: Duration,
    /// A session unused for this long expires.
    pub session_idle: Duration,
    /// Mark the session cookie `Secure` (set when the site is served over HTTPS).
    pub secure_cookie: bool,
    /// Failed log-ins one address may make on one account before each further one locks the
    /// pair exponentially longer.
    pub login_failures_per_pair: u32,
    /// Failed log-ins per account per minute, all addresses together, before only addresses
    /// that have not failed on it are tried.
    pub login_failures_per_account: u32,
    /// The longest one (account, address) pair is locked after failures.
    pub login_backoff_max: Duration,
    /// Log-in and register attempts allowed per client address per minute.
    pub login_per_address: u32,
    /// The largest text frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// The most bytes a connection's outgoing queue may hold; a connection over it is evicted.
    pub outbound_bytes: usize,
    /// A connection whose oldest undelivered frame has waited this long is evicted.
    pub slow_client: Duration,
    /// The longest message body, in characters.
    pub max_body_chars: usize,
    /// Messages one user may send per second (all devices together; burst of the same size).
    pub messages_per_second: u32,
    /// Membership, room and setting changes (create, join, leave, invite, remove, rename, open
    /// a direct conversation, block, notification settings) one user may make per minute
    /// (burst of a quarter of it).
    pub changes_per_minute: u32,
    /// Costly reads (history, members, list_rooms, resume) one user may ask for per second
    /// (burst of twice that).
    pub reads_per_second: u32,
    /// Read-position updates one user may send per second (burst of twice that).
    pub marks_per_second: u32,
    /// Edits, deletions and reactions one user may make per second (burst of twice that).
    pub actions_per_second: u32,
    /// Searches one user may make per minute (burst of a sixth of it).
    pub searches_per_minute: u32,
    /// How long after sending a message its sender may edit it (zero: never).
    pub edit_window: Duration,
    /// TCP connections held at once; `0` means the open-file limit less a reserve.
    pub max_connections: usize,
    /// TCP connections from one address that are not (yet) authenticated WebSockets.
    pub connections_per_address: usize,
    /// WebSockets one user may hold open at once (all devices and tabs).
    pub sockets_per_user: usize,
}

/// Why the configuration could not be loaded. Each variant names the key and value at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named file exists but could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file that failed.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file has a key the server does not know.
    #[error("unknown config key `{key}` in {path}")]
    UnknownKey {
        /// The file that has it.
        path: PathBuf,
        /// The dotted key.
        key: String,
    },
    /// A key has a value that does not parse or is out of range.
    #[error("invalid value for config key `{key}` (from {origin}): {value:?}: {reason}")]
    Invalid {
        /// The dotted key.
        key: &'static str,
        /// Where the value came from: the file or the environment variable.
        origin: String,
        /// The offending value, as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The environment variable that overrides `key`: `server.listen` → `SWITCHBOARD_SERVER_LISTEN`.
pub fn env_name(key: &str) -> String {
    format!("SWITCHBOARD_{}", key.replace('.', "_").to_ascii_uppercase())
}

impl Config {
    /// Loads the configuration from `path` (missing file → defaults) and the process environment.
    pub fn load(path: &std::path::Path, must_exist: bool) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !must_exist => None,
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Self::from_sources(path, text.as_deref(), |name| std::env::var(name).ok())
    }

    /// Builds the configuration from file text (if any) and an environment lookup.
    pub fn from_sources(
        path: &std::path::Path,
        file: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let table = match file {
            Some(text) => text
                .parse::<toml::Table>()
                .map_err(|err| ConfigError::Syntax {
                    path: path.to_owned(),
                    message: err.to_string(),
                })?,
            None => toml::Table::new(),
        };
        reject_unknown_keys(path, &table, "")?;
        let src = Sources {
            path,
            table: &table,
            env: &env,
        };
        let config = Config {
            listen: src.parse("server.listen")?,
            site_root: src.parse("server.site_root")?,
            admin_listen: src.optional("server.admin_listen")?,
            admin_token: checks::admin_token(&src)?,
            log_json: checks::log_json(&src)?,
            header_timeout: src.millis("server.header_timeout_ms", 100, 600_000)?,
            body_timeout: src.millis("server.body_timeout_ms", 100, 600_000)?,
            keepalive_timeout: src.millis("server.keepalive_timeout_ms", 100, 3_600_000)?,
            handshake_timeout: src.millis("server.handshake_timeout_ms", 100, 600_000)?,
            shutdown_grace: src.millis("server.shutdown_grace_ms", 0, 600_000)?,
            database_path: src.parse("database.path")?,
            database_url: checks::database_url(&src)?,
            redis_url: checks::redis_url(&src)?,
            node_id: checks::node_id(&src)?,
            presence_ttl: src.millis("cluster.presence_ttl_ms", 1_000, 600_000)?,
            sweep: src.millis("cluster.sweep_ms", 100, 600_000)?,
            allowed_origins: src.origins("websocket.allowed_origins")?,
            heartbeat: src.millis("websocket.heartbeat_ms", 1_000, 300_000)?,
            allow_token_without_origin: src.parse("websocket.allow_token_without_origin")?,
            session_ttl: Duration::from_secs(src.ranged("auth.session_ttl_secs", 1, 31_536_000)?),
            session_idle: Duration::from_secs(src.ranged(
                "auth.session_idle_secs",
                1,
                31_536_000,
            )?),
            secure_cookie: src.parse("auth.secure_cookie")?,
            login_failures_per_pair: src.ranged("auth.login_failures_per_pair", 0, 1_000)? as u32,
            login_failures_per_account: src.ranged("auth.login_failures_per_account", 1, 100_000)?
                as u32,
            login_backoff_max: Duration::from_secs(src.ranged(
                "auth.login_backoff_max_secs",
                1,
                86_400,
            )?),
            login_per_address: src.ranged("auth.login_attempts_per_address", 1, 100_000)? as u32,
            max_frame_bytes: src.ranged("limits.max_frame_bytes", 1_024, 16 << 20)? as usize,
            outbound_bytes: src.ranged("limits.outbound_bytes", 64 << 10, 1 << 30)? as usize,
            slow_client: src.millis("limits.slow_client_ms", 100, 600_000)?,
            max_body_chars: src.ranged(
                "limits.max_body_chars",
                1,
                crate::protocol::MAX_BODY_CHARS as u64,
            )? as usize,
            messages_per_second: src.ranged("limits.messages_per_second", 1, 1_000_000)? as u32,
            changes_per_minute: src.ranged("limits.changes_per_minute", 1, 1_000_000)? as u32,
            reads_per_second: src.ranged("limits.reads_per_second", 1, 1_000_000)? as u32,
            marks_per_second: src.ranged("limits.marks_per_second", 1, 1_000_000)? as u32,
            actions_per_second: src.ranged("limits.actions_per_second", 1, 1_000_000)? as u32,
            searches_per_minute: src.ranged("limits.searches_per_minute", 1, 1_000_000)? as u32,
            edit_window: Duration::from_secs(src.ranged(
                "messages.edit_window_secs",
                0,
                31_536_000,
            )?),
            max_connections: src.ranged("limits.max_connections", 0, 10_000_000)? as usize,
            connections_per_address: src.ranged("limits.connections_per_address", 1, 10_000_000)?
                as usize,
            sockets_per_user: src.ranged("limits.sockets_per_user", 1, 100_000)? as usize,
        };
        checks::cluster_store(
            &src,
            config.redis_url.as_deref(),
            config.database_url.as_deref(),
        )?;
        Ok(config)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::from_sources(std::path::Path::new(DEFAULT_PATH), None, |_| None)
            .expect("the built-in defaults are valid")
    }
}
