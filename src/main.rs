//! The switchboard server binary: `switchboard [--config <path>]`, and `switchboard admin
//! provision` to create token-only users from the command line.

#[cfg(feature = "ssr")]
const USAGE: &str = "usage: switchboard [--config <path>]\n       switchboard admin provision --prefix <name> --count <n> [--config <path>]";

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
    // Each connection is a file: take all the open files this process may have.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(err) => tracing::warn!(%err, "could not raise the open-file limit"),
    }

    // `switchboard [--config <path>]` serves; `switchboard admin provision --prefix P --count N
    // [--config <path>]` creates users with access tokens in the configured database and prints
    // them as JSON lines (for load tests and service accounts).
    // The file comes from --config, else SWITCHBOARD_CONFIG, else ./Leptos.toml; a file that was
    // named explicitly must exist, the default one may be absent (then defaults apply).
    let mut args = std::env::args().skip(1).peekable();
    let admin = args.peek().is_some_and(|a| a == "admin");
    if admin {
        args.next();
        if args.next().as_deref() != Some("provision") {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let mut named: Option<PathBuf> = std::env::var_os("SWITCHBOARD_CONFIG").map(PathBuf::from);
    let (mut prefix, mut count) = (None::<String>, None::<usize>);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--config", Some(path)) => named = Some(PathBuf::from(path)),
            ("--prefix", Some(p)) if admin => prefix = Some(p),
            ("--count", Some(n)) if admin => match n.parse() {
                Ok(n) if n > 0 => count = Some(n),
                _ => {
                    eprintln!("switchboard: --count must be a positive number, not {n:?}");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let must_exist = named.is_some();
    let path = named.unwrap_or_else(|| PathBuf::from(server::config::DEFAULT_PATH));

    let result = match (Config::load(&path, must_exist), admin) {
        (Err(err), _) => Err(err.into()),
        (Ok(config), false) => server::run(config).await,
        (Ok(config), true) => {
            let (Some(prefix), Some(count)) = (prefix, count) else {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            };
            match server::provision(config, &prefix, count).await {
                Ok(users) => {
                    for user in users {
                        println!("{}", serde_json::json!(user));
                    }
                    Ok(())
                }
                Err(err) => Err(err),
            }
        }
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
