//! The server binary as a child process: a clean environment, and the address it logs when
//! it starts listening.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A client's WebSocket to the binary.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// The binary with a clean environment: no config file unless `--config` is given, and the
/// admin token `http::ADMIN_TOKEN` (which opens `/healthz`, `/readyz`, `/metrics`).
pub fn command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SWITCHBOARD_CONFIG")
        .env(
            "SWITCHBOARD_SERVER_ADMIN_TOKEN",
            "test-admin-token-0123456789",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for the "listening" log line and returns the address it names; stdout is drained
/// from then on so the server never blocks on a full pipe.
pub fn listening_addr(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if line.contains("listening") {
            let addr = line.split("addr=").nth(1).expect("addr field").trim();
            let addr = addr.split_whitespace().next().unwrap().to_owned();
            std::thread::spawn(move || for _ in lines {});
            return addr;
        }
    }
    panic!("no listening line within 30 s");
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
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};
    let mut request = format!(
        "ws://{addr}/ws?v={}",
        switchboard::protocol::PROTOCOL_VERSION
    )
    .into_client_request()
    .expect("a valid URL");
    let headers = request.headers_mut();
    headers.insert(
        "origin",
        HeaderValue::from_str(origin).expect("a header value"),
    );
    headers.insert(
        "cookie",
        HeaderValue::from_str(cookie).expect("a header value"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade is accepted")
        .0
}
