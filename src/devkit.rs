//! Development kit: what tests, the load generator and `scripts/cluster.sh` need to run
//! switchboard for real on one machine — a throwaway Postgres ([`PgServer`]) and Redis
//! ([`RedisServer`]) from the Debian packages, the server binary as a child process
//! ([`Spawn`], [`Node`]), and `switchboard dev-services` ([`dev_services`]), which keeps a
//! Postgres and a Redis running for a shell script.
//!
//! Not part of serving: nothing under `crate::server` uses it, and it uses nothing of the server
//! but the binary it starts (and sqlx, to create the database).

pub mod postgres;
pub mod redis;
mod services;
pub mod spawn;

use std::time::{Duration, Instant};

pub use self::{
    postgres::PgServer,
    redis::RedisServer,
    services::dev_services,
    spawn::{Node, Spawn},
};

/// A loopback port nothing listens on right now (another process may take it before it is
/// bound: callers that can, retry).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// Waits until something accepts TCP connections on the loopback `port`.
pub fn wait_for_port(port: u16, within: Duration) -> Result<(), String> {
    let start = Instant::now();
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if start.elapsed() > within {
            return Err(format!("nothing accepts connections on port {port}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
