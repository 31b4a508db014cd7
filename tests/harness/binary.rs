//! The server binary as a child process: a clean environment, and the address it logs when
//! it starts listening.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

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
