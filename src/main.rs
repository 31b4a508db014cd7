//! The switchboard server binary: `switchboard [--config <path>]`.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use std::{path::PathBuf, process::ExitCode};

    use switchboard::server::{self, config::Config};

    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    // The file comes from --config, else SWITCHBOARD_CONFIG, else ./Leptos.toml; a file that was
    // named explicitly must exist, the default one may be absent (then defaults apply).
    let mut args = std::env::args().skip(1);
    let mut named: Option<PathBuf> = std::env::var_os("SWITCHBOARD_CONFIG").map(PathBuf::from);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--config", Some(path)) => named = Some(PathBuf::from(path)),
            _ => {
                eprintln!("usage: switchboard [--config <path>]");
                return ExitCode::from(2);
            }
        }
    }
    let must_exist = named.is_some();
    let path = named.unwrap_or_else(|| PathBuf::from(server::config::DEFAULT_PATH));

    let result = match Config::load(&path, must_exist) {
        Ok(config) => server::run(config).await,
        Err(err) => Err(err.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("switchboard: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is only meaningful with the server feature; cargo-leptos builds it that way.
}
