//! The rules of the keys that are more than a number or a duration, section by section:
//! `server.admin_token` and `server.log_format`; `database.url`; `websocket.allowed_origins`
//! (each origin); `cluster.redis_url`, `cluster.node_id` and that cluster mode needs Postgres.
//!
//! Each reads its key through [`Sources`] and refuses a bad value with the key, the value and
//! where it came from. Depends on the lookup ([`super::sources`]) only.

use super::{
    ConfigError,
    sources::{Sources, invalid},
};

/// `server.admin_token`: empty (no token), or 16 to 256 printable ASCII characters. The value
/// is never repeated in the error.
pub fn admin_token(src: &Sources) -> Result<Option<String>, ConfigError> {
    match src.text("server.admin_token")? {
        (v, _) if v.is_empty() => Ok(None),
        (v, _) if (16..=256).contains(&v.len()) && v.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(Some(v))
        }
        (v, origin) => Err(invalid(
            "server.admin_token",
            origin,
            "(hidden)".to_owned(),
            format!(
                "must be 16 to 256 printable ASCII characters, no spaces (got {} characters)",
                v.len()
            ),
        )),
    }
}

/// `server.log_format`: `text` (false) or `json` (true).
pub fn log_json(src: &Sources) -> Result<bool, ConfigError> {
    match src.text("server.log_format")? {
        (v, _) if v == "text" => Ok(false),
        (v, _) if v == "json" => Ok(true),
        (v, origin) => Err(invalid(
            "server.log_format",
            origin,
            v,
            "must be text or json",
        )),
    }
}

/// `database.url`: empty (SQLite at `database.path`) or a `postgres://` URL.
pub fn database_url(src: &Sources) -> Result<Option<String>, ConfigError> {
    url(
        src,
        "database.url",
        &["postgres://", "postgresql://"],
        "must be a postgres:// URL (or empty for SQLite at database.path)",
    )
}

/// An optional URL: empty is `None`; anything else must start with one of `schemes`.
fn url(
    src: &Sources,
    key: &'static str,
    schemes: &[&str],
    reason: &'static str,
) -> Result<Option<String>, ConfigError> {
    match src.text(key)? {
        (v, _) if v.trim().is_empty() => Ok(None),
        (v, _) if schemes.iter().any(|scheme| v.starts_with(scheme)) => Ok(Some(v)),
        (v, origin) => Err(invalid(key, origin, v, reason)),
    }
}

/// One of `websocket.allowed_origins`: `http(s)://host[:port]` with nothing after it, compared
/// byte for byte with the browser's `Origin` header, so anything else could never match and is
/// a mistake.
pub fn origin(origin: &str) -> Result<(), &'static str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or("an origin starts with http:// or https://")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
        return Err("an origin is scheme://host[:port] with no path or trailing slash");
    }
    Ok(())
}

/// `cluster.redis_url`: empty (a single node) or a `redis://` URL.
pub fn redis_url(src: &Sources) -> Result<Option<String>, ConfigError> {
    url(
        src,
        "cluster.redis_url",
        &["redis://"],
        "must be a redis:// URL (or empty for a single node)",
    )
}

/// `cluster.node_id`: empty (one is generated) or at most 64 printable ASCII characters.
pub fn node_id(src: &Sources) -> Result<Option<String>, ConfigError> {
    match src.text("cluster.node_id")? {
        (v, _) if v.trim().is_empty() => Ok(None),
        (v, _) if v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic()) => Ok(Some(v)),
        (v, origin) => Err(invalid(
            "cluster.node_id",
            origin,
            v,
            "at most 64 printable ASCII characters, no spaces",
        )),
    }
}

/// Cluster mode (a `cluster.redis_url`) needs a store every node shares: `database.url`.
pub fn cluster_store(
    src: &Sources,
    redis_url: Option<&str>,
    database_url: Option<&str>,
) -> Result<(), ConfigError> {
    if redis_url.is_none() || database_url.is_some() {
        return Ok(());
    }
    let (value, origin) = src.text("cluster.redis_url")?;
    Err(invalid(
        "cluster.redis_url",
        origin,
        value,
        "cluster mode needs a shared store: set database.url to a postgres:// URL",
    ))
}

/// A node id for a process that was not given one: `node-<pid>-<random>`, unique among
/// restarts.
pub fn default_node_id() -> String {
    let mut random = [0u8; 4];
    let _ = getrandom::getrandom(&mut random);
    format!(
        "node-{}-{:08x}",
        std::process::id(),
        u32::from_be_bytes(random)
    )
}
