//! Looking up configuration values key by key — environment variable, else file, else the
//! default listed in [`KEYS`] — and the generic parsers (numbers in a range, durations, lists)
//! every section uses, each refusal naming the key, the value and where it came from.
//!
//! Depends on nothing but `toml` and the key list; it knows no section's rules.

use std::time::Duration;

use super::{ConfigError, KEYS, env_name};

/// Refuses any key of `table` (under `prefix`) that is not in [`KEYS`], naming it.
pub fn reject_unknown_keys(
    path: &std::path::Path,
    table: &toml::Table,
    prefix: &str,
) -> Result<(), ConfigError> {
    for (name, value) in table {
        let key = format!("{prefix}{name}");
        let is_section = KEYS.iter().any(|(k, _)| k.starts_with(&format!("{key}.")));
        match value {
            toml::Value::Table(inner) if is_section => {
                reject_unknown_keys(path, inner, &format!("{key}."))?
            }
            _ if KEYS.iter().any(|(k, _)| *k == key) => {}
            _ => {
                return Err(ConfigError::UnknownKey {
                    path: path.to_owned(),
                    key,
                });
            }
        }
    }
    Ok(())
}

/// The file table and the environment, looked up key by key: environment first, then file, then
/// the default from [`KEYS`].
pub struct Sources<'a> {
    /// The file, for error messages.
    pub path: &'a std::path::Path,
    /// The parsed file (empty without one).
    pub table: &'a toml::Table,
    /// The environment lookup.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// A raw value before parsing, and where it came from (for error messages).
enum Raw {
    /// One value, and where it came from.
    Text(String, String),
    /// A TOML list of strings, and where it came from.
    List(Vec<String>, String),
}

impl Sources<'_> {
    /// The value of `key`: the environment's, else the file's, else the default in [`KEYS`].
    fn raw(&self, key: &'static str) -> Result<Raw, ConfigError> {
        let var = env_name(key);
        if let Some(value) = (self.env)(&var) {
            return Ok(Raw::Text(value, format!("environment variable {var}")));
        }
        let origin = format!("{}", self.path.display());
        let mut node: Option<&toml::Value> = None;
        let mut table = Some(self.table);
        for part in key.split('.') {
            node = table.and_then(|t| t.get(part));
            table = node.and_then(toml::Value::as_table);
        }
        match node {
            None => {
                let default = KEYS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, d)| *d)
                    .expect("every key read is listed in KEYS");
                Ok(Raw::Text(default.to_owned(), "built-in default".to_owned()))
            }
            Some(toml::Value::String(s)) => Ok(Raw::Text(s.clone(), origin)),
            Some(toml::Value::Integer(i)) => Ok(Raw::Text(i.to_string(), origin)),
            Some(toml::Value::Boolean(b)) => Ok(Raw::Text(b.to_string(), origin)),
            Some(toml::Value::Array(items)) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(s) => list.push(s.to_owned()),
                        None => {
                            return Err(invalid(
                                key,
                                origin,
                                item.to_string(),
                                "expected a string",
                            ));
                        }
                    }
                }
                Ok(Raw::List(list, origin))
            }
            Some(other) => Err(invalid(
                key,
                origin,
                other.to_string(),
                "expected a string, integer or list",
            )),
        }
    }

    /// The single value of `key`, and where it came from.
    pub fn text(&self, key: &'static str) -> Result<(String, String), ConfigError> {
        match self.raw(key)? {
            Raw::Text(value, origin) => Ok((value, origin)),
            Raw::List(list, origin) => Err(invalid(
                key,
                origin,
                format!("{list:?}"),
                "expected a single value",
            )),
        }
    }

    /// Like [`Self::parse`], but an empty value means "not set".
    pub fn optional<T>(&self, key: &'static str) -> Result<Option<T>, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let (value, _) = self.text(key)?;
        if value.trim().is_empty() {
            Ok(None)
        } else {
            self.parse(key).map(Some)
        }
    }

    /// The value of `key`, parsed; empty is refused.
    pub fn parse<T>(&self, key: &'static str) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let (value, origin) = self.text(key)?;
        if value.trim().is_empty() {
            return Err(invalid(key, origin, value, "must not be empty"));
        }
        value
            .parse()
            .map_err(|err: T::Err| invalid(key, origin, value.clone(), err.to_string()))
    }

    /// A duration given in milliseconds, between `min` and `max` of them.
    pub fn millis(&self, key: &'static str, min: u64, max: u64) -> Result<Duration, ConfigError> {
        self.ranged(key, min, max).map(Duration::from_millis)
    }

    /// A whole number between `min` and `max`.
    pub fn ranged(&self, key: &'static str, min: u64, max: u64) -> Result<u64, ConfigError> {
        let number: u64 = self.parse(key)?;
        if (min..=max).contains(&number) {
            Ok(number)
        } else {
            let (value, origin) = self.text(key)?;
            Err(invalid(
                key,
                origin,
                value,
                format!("must be between {min} and {max}"),
            ))
        }
    }

    /// A list of origins: a TOML list, or one comma-separated value (the environment's form).
    pub fn origins(&self, key: &'static str) -> Result<Vec<String>, ConfigError> {
        let (list, origin) = match self.raw(key)? {
            Raw::Text(text, origin) => (
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
                origin,
            ),
            Raw::List(list, origin) => (list, origin),
        };
        for item in &list {
            if let Err(reason) = super::checks::origin(item) {
                return Err(invalid(key, origin, item.clone(), reason));
            }
        }
        Ok(list)
    }
}

/// The error for `value` of `key` (from `origin`), refused for `reason`.
pub fn invalid(
    key: &'static str,
    origin: String,
    value: String,
    reason: impl std::fmt::Display,
) -> ConfigError {
    ConfigError::Invalid {
        key,
        origin,
        value,
        reason: reason.to_string(),
    }
}
