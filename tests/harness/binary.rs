//! The server binary as a child process (`switchboard::devkit::Spawn`) with the tests'
//! settings, and a browser's socket to it (`switchboard::client`).
#![allow(dead_code)]

use std::{
    process::{Child, Command},
    sync::{Arc, Mutex},
};

use switchboard::{
    client::{self, Target},
    devkit::{Spawn, spawn},
};

/// A client's WebSocket to the binary.
pub type Ws = client::Socket;

/// The binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// The binary with a clean environment: no config file unless `--config` is given, and the
/// admin token `http::ADMIN_TOKEN` (which opens `/healthz`, `/readyz`, `/metrics`).
pub fn spawner(dir: &std::path::Path) -> Spawn {
    Spawn::new(BIN, dir).env(
        "SWITCHBOARD_SERVER_ADMIN_TOKEN",
        "test-admin-token-0123456789",
    )
}

/// [`spawner`]'s command, stdout and stderr piped, for tests that run it to completion.
pub fn command(dir: &std::path::Path) -> Command {
    spawner(dir).command()
}

/// Waits for the "listening" log line and returns the address it names; stdout is drained
/// from then on so the server never blocks on a full pipe.
pub fn listening_addr(child: &mut Child) -> String {
    spawn::listening(child, &Arc::new(Mutex::new(String::new())), |_| {}).unwrap()
}

/// Writes another application's SQLite database (one table, no switchboard schema) at `path`.
pub fn foreign_sqlite(path: &std::path::Path) {
    let status = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c = sqlite3.connect({:?}); c.execute('create table invoices (id integer)'); c.commit()",
            path.to_str().expect("a UTF-8 path")
        ))
        .status()
        .expect("python3 runs");
    assert!(status.success());
}

/// Opens `/ws` on `addr` as a browser would: the current protocol, `origin`, the session
/// `cookie`.
pub async fn browser_ws(addr: &str, origin: &str, cookie: &str) -> Ws {
    client::open(&Target::new(addr).origin(origin).cookie(cookie))
        .await
        .expect("the upgrade is accepted")
}
