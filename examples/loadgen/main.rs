//! The load generator: real WebSockets, the real protocol, an open loop, latency per recipient.
//!
//! ```text
//! cargo run --release --features ssr --example loadgen -- \
//!     [--scenario idle|dm|room|slow|drain|abuse|all] [--size tiny|full] \
//!     [--server target/release/switchboard] [--json bench.json]
//! ```
//!
//! Every scenario starts its own server process (the binary named by `--server`) on a loopback
//! port with a throw-away SQLite file, after creating its users with `switchboard admin
//! provision` (token-only accounts). Clients authenticate with those tokens like any non-browser
//! client, connect from source addresses spread over 127.0.0.2–127.0.0.254, and send on a fixed
//! schedule whatever the replies do (open loop). Each message carries its scheduled send time;
//! every recipient records scheduled-send → receive in an HdrHistogram, so a stalled server shows
//! up as latency instead of as a lower send rate. Server CPU (utime+stime) and RSS are read from
//! `/proc` before and after each measured phase: deliveries per server CPU-second and RSS per
//! connection hold on a noisy, shared machine where wall-clock rates do not.
//!
//! `abuse` is the odd one out: a small crowd chats at a modest rate while attackers take turns
//! (a non-reader, a connection flood, slowloris, frame floods); it reports what each attack cost
//! the server and the crowd, and what the attackers got (see `abuse.rs`).
//!
//! BENCHMARKS.md has the figures and the commands that produced them.

#[cfg(feature = "ssr")]
mod abuse;
#[cfg(feature = "ssr")]
mod client;
#[cfg(feature = "ssr")]
mod report;
#[cfg(feature = "ssr")]
mod scenarios;
#[cfg(feature = "ssr")]
mod server;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use std::process::ExitCode;

    let options = match scenarios::Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("loadgen: {message}\n{}", scenarios::USAGE);
            return ExitCode::from(2);
        }
    };
    if let Err(err) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("loadgen: could not raise the open-file limit: {err}");
    }
    match scenarios::run_all(&options).await {
        Ok(results) => {
            report::print_table(&results);
            if let Some(path) = &options.json {
                if let Err(err) = report::write_json(path, &results) {
                    eprintln!("loadgen: cannot write {}: {err}", path.display());
                    return ExitCode::FAILURE;
                }
                eprintln!("wrote {}", path.display());
            }
            if results.iter().all(|r| r.problems.is_empty()) {
                ExitCode::SUCCESS
            } else {
                for r in &results {
                    for p in &r.problems {
                        eprintln!("loadgen: {}: {p}", r.name);
                    }
                }
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("loadgen: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    eprintln!("loadgen needs the server feature: --features ssr");
}
