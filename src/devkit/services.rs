//! `switchboard dev-services [--postgres] [--redis]`: starts a throwaway Postgres and/or Redis,
//! prints where they are, and keeps them until SIGINT or SIGTERM, then stops them and removes
//! their files. `scripts/cluster.sh` runs its nodes against these.

use std::{io::Write, process::ExitCode};

use super::{PgServer, RedisServer};

/// The command's usage line.
pub const USAGE: &str = "usage: switchboard dev-services [--postgres] [--redis]";

/// Runs the command with the arguments after `dev-services` (neither flag: both services).
/// Prints one line per service, `postgres <url> <log file>` and `redis <url>`, then `ready`.
pub async fn dev_services(args: impl Iterator<Item = String>) -> ExitCode {
    let (mut postgres, mut redis) = (false, false);
    for arg in args {
        match arg.as_str() {
            "--postgres" => postgres = true,
            "--redis" => redis = true,
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if !postgres && !redis {
        (postgres, redis) = (true, true);
    }
    let pg = if postgres {
        Some(PgServer::start().await)
    } else {
        None
    };
    let rs = redis.then(RedisServer::start);
    let mut out = std::io::stdout().lock();
    if let Some(pg) = &pg {
        let _ = writeln!(out, "postgres {} {}", pg.url, pg.log_file().display());
    }
    if let Some(rs) = &rs {
        let _ = writeln!(out, "redis {}", rs.url);
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    drop(out);
    if let Err(err) = stopped().await {
        eprintln!("switchboard dev-services: cannot wait for a signal: {err}");
    }
    // Dropping them stops them (Postgres with a fast shutdown) and removes their directories.
    drop(rs);
    drop(pg);
    ExitCode::SUCCESS
}

/// Resolves on SIGINT or SIGTERM.
async fn stopped() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
