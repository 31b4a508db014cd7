//! The Leptos rendering options of a running server, from the configuration and whatever
//! cargo-leptos put in the environment. Part of the composition root; depends on the
//! configuration only.

use leptos::config::LeptosOptions;

use crate::server::config::Config;

/// The name of the WASM/JS bundle, as set by `output-name` in Cargo.toml.
const OUTPUT_NAME: &str = "switchboard";

/// Leptos options for rendering: the build-time names cargo-leptos passes in the environment
/// when it runs us (reload port, hashed file names), with our own site root and address.
pub fn from_config(config: &Config) -> LeptosOptions {
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
