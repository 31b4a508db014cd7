//! The configuration's tests: defaults, the committed `Leptos.toml`, environment overrides and
//! every kind of refusal naming its key and value.

use std::collections::HashMap;

use super::{Config, ConfigError};

fn load(file: Option<&str>, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_sources(std::path::Path::new("Leptos.toml"), file, |name| {
        env.get(name).cloned()
    })
}

#[test]
fn missing_file_means_defaults() {
    let config = load(None, &[]).unwrap();
    assert_eq!(config.listen, "127.0.0.1:3000".parse().unwrap());
    assert_eq!(config.max_frame_bytes, 65_536);
    assert_eq!(config.allowed_origins.len(), 2);
}

#[test]
fn the_committed_leptos_toml_is_valid_and_matches_the_defaults() {
    let text = include_str!("../../../Leptos.toml");
    assert_eq!(load(Some(text), &[]).unwrap(), load(None, &[]).unwrap());
}

#[test]
fn environment_overrides_the_file() {
    let file = "[server]\nlisten = \"127.0.0.1:4000\"\n[limits]\nmax_frame_bytes = 2048\n";
    let config = load(
        Some(file),
        &[
            ("SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:5000"),
            (
                "SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS",
                "https://chat.example, http://127.0.0.1:5000",
            ),
        ],
    )
    .unwrap();
    assert_eq!(config.listen.port(), 5000);
    assert_eq!(config.max_frame_bytes, 2048);
    assert_eq!(
        config.allowed_origins,
        ["https://chat.example", "http://127.0.0.1:5000"]
    );
}

#[test]
fn a_bad_value_names_the_key_and_the_value() {
    let err = load(None, &[("SWITCHBOARD_LIMITS_OUTBOUND_BYTES", "lots")]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("limits.outbound_bytes"), "{text}");
    assert!(text.contains("\"lots\""), "{text}");
    assert!(text.contains("SWITCHBOARD_LIMITS_OUTBOUND_BYTES"), "{text}");

    let err = load(Some("[server]\nlisten = 3000\n"), &[]).unwrap_err();
    assert!(err.to_string().contains("server.listen"), "{err}");
    assert!(err.to_string().contains("\"3000\""), "{err}");
}

#[test]
fn out_of_range_and_malformed_values_are_refused() {
    assert!(load(Some("[limits]\nmax_frame_bytes = 10\n"), &[]).is_err());
    assert!(load(Some("[limits]\noutbound_bytes = -1\n"), &[]).is_err());
    assert!(load(Some("[limits]\noutbound_bytes = 1000\n"), &[]).is_err());
    assert!(load(Some("[server]\nheader_timeout_ms = 0\n"), &[]).is_err());
    assert!(load(Some("[limits]\nsockets_per_user = 0\n"), &[]).is_err());
    assert!(
        load(
            Some("[websocket]\nallowed_origins = [\"http://a.example/\"]\n"),
            &[]
        )
        .is_err()
    );
    assert!(load(Some("[websocket]\nallowed_origins = [1]\n"), &[]).is_err());
    assert!(load(Some("[server\n"), &[]).is_err());
}

#[test]
fn unknown_keys_are_refused() {
    let err = load(Some("[server]\nlisten_addr = \"x\"\n"), &[]).unwrap_err();
    assert!(err.to_string().contains("server.listen_addr"), "{err}");
    let err = load(Some("[serverz]\nlisten = \"x\"\n"), &[]).unwrap_err();
    assert!(err.to_string().contains("serverz"), "{err}");
}
