//! A throwaway real Redis (Debian's `redis-server`) on a free loopback port, for cluster tests,
//! the load generator and `switchboard dev-services`. Panics with what went wrong, like
//! [`super::postgres`].

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use super::{free_port, wait_for_port};

/// A running `redis-server`; stopped when dropped.
pub struct RedisServer {
    /// `redis://127.0.0.1:<port>`.
    pub url: String,
    /// Its port (kept across [`RedisServer::restart`]).
    pub port: u16,
    /// The process, while running.
    child: Option<Child>,
    /// Its working directory.
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one and waits until it accepts connections.
    pub fn start() -> Self {
        let port = free_port();
        let mut server = Self {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            child: None,
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server; scripts/setup.sh installs it)");
        self.child = Some(child);
        if let Err(err) = wait_for_port(self.port, Duration::from_secs(10)) {
            panic!("redis-server did not start: {err}");
        }
    }

    /// Kills it (every client connection drops).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: nothing was saved).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
