//! The switchboard server binary: `switchboard [--config <path>]`, plus `switchboard admin
//! provision` (token-only users), `switchboard admin backup` (an online copy of the database),
//! `switchboard admin restore` (put a backup back, with a new store epoch) and `switchboard
//! admin new-epoch` (a new store epoch after data was put back by other means), and `switchboard
//! dev-services` (a throwaway Postgres and Redis for development: `switchboard::devkit`).

#[cfg(feature = "ssr")]
const USAGE: &str = "usage: switchboard [--config <path>]
       switchboard admin provision --prefix <name> --count <n> [--config <path>]
       switchboard admin backup --to <file> [--config <path>]
       switchboard admin restore --from <file> [--config <path>]
       switchboard admin new-epoch [--config <path>]
       switchboard dev-services [--postgres] [--redis]";

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use std::{path::PathBuf, process::ExitCode};

    use switchboard::server::{self, config::Config};

    // `switchboard [--config <path>]` serves. `switchboard admin provision --prefix P --count N`
    // creates users with access tokens in the configured database and prints them as JSON lines
    // (load tests, service accounts); `switchboard admin backup --to FILE` writes a consistent
    // copy of the database while a server runs; `admin restore --from FILE` puts one back (server
    // stopped) with a new store epoch, and `admin new-epoch` only changes the epoch. The configuration comes from --config, else
    // SWITCHBOARD_CONFIG, else ./Leptos.toml; a file that was named explicitly must exist, the
    // default one may be absent (then defaults apply).
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "dev-services") {
        args.next();
        return switchboard::devkit::dev_services(args).await;
    }
    let command = if args.peek().is_some_and(|a| a == "admin") {
        args.next();
        match args.next().as_deref() {
            Some(c @ ("provision" | "backup" | "restore" | "new-epoch")) => c.to_string(),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    } else {
        "serve".to_string()
    };
    let mut named: Option<PathBuf> = std::env::var_os("SWITCHBOARD_CONFIG").map(PathBuf::from);
    let (mut prefix, mut count, mut to) = (None::<String>, None::<usize>, None::<PathBuf>);
    while let Some(arg) = args.next() {
        match (command.as_str(), arg.as_str(), args.next()) {
            (_, "--config", Some(path)) => named = Some(PathBuf::from(path)),
            ("provision", "--prefix", Some(p)) => prefix = Some(p),
            ("provision", "--count", Some(n)) => match n.parse() {
                Ok(n) if n > 0 => count = Some(n),
                _ => {
                    eprintln!("switchboard: --count must be a positive number, not {n:?}");
                    return ExitCode::from(2);
                }
            },
            ("backup", "--to", Some(path)) | ("restore", "--from", Some(path)) => {
                to = Some(PathBuf::from(path));
            }
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let must_exist = named.is_some();
    let path = named.unwrap_or_else(|| PathBuf::from(server::config::DEFAULT_PATH));
    let config = match Config::load(&path, must_exist) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("switchboard: {err}");
            return ExitCode::from(2);
        }
    };

    // The server logs to stdout, as text or (server.log_format = "json") one JSON object per
    // line. An admin command's stdout is its output (provision prints one JSON account per
    // line, read by scripts and the load generator), so its logs go to stderr: a warning such
    // as sqlx's "slow statement" on a busy machine must not corrupt that output.
    let to_stderr = command != "serve";
    let writer = move || -> Box<dyn std::io::Write> {
        if to_stderr {
            Box::new(std::io::stderr())
        } else {
            Box::new(std::io::stdout())
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if config.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(writer)
            .init();
    } else {
        let terminal = if to_stderr {
            std::io::IsTerminal::is_terminal(&std::io::stderr())
        } else {
            std::io::IsTerminal::is_terminal(&std::io::stdout())
        };
        tracing_subscriber::fmt()
            .with_ansi(terminal)
            .with_env_filter(filter)
            .with_writer(writer)
            .init();
    }

    // Each connection is a file: take all the open files this process may have.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(err) => tracing::warn!(%err, "could not raise the open-file limit"),
    }

    let result = match (command.as_str(), prefix, count, to) {
        ("serve", ..) => server::run(config).await,
        ("provision", Some(prefix), Some(count), _) => server::provision(config, &prefix, count)
            .await
            .map(|users| {
                for user in users {
                    println!("{}", serde_json::json!(user));
                }
            }),
        ("backup", _, _, Some(to)) => server::backup(&config, &to).await.map(|bytes| {
            println!(
                "backed up {} to {} ({bytes} bytes)",
                config.database_path.display(),
                to.display()
            );
        }),
        ("restore", _, _, Some(from)) => server::restore(&config, &from).await.map(|done| {
            println!(
                "restored {} from {}; store epoch {}",
                config.database_path.display(),
                from.display(),
                done.epoch
                    .map_or_else(|| "set at the next start".to_owned(), |e| e.0)
            );
            if let Some(kept) = done.kept {
                println!("the replaced database is kept as {}", kept.display());
            }
        }),
        ("new-epoch", ..) => server::new_epoch(&config)
            .await
            .map(|epoch| println!("new store epoch {epoch}")),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
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
