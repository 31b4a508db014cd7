//! The server under test: a child process with its own database, and what it costs.

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use switchboard::server::accounts::Provisioned;

/// Linux reports CPU time in clock ticks of 1/100 s (`getconf CLK_TCK`).
const TICKS_PER_SEC: f64 = 100.0;

/// A running switchboard process.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its database directory, removed when this is dropped.
    _dir: tempfile::TempDir,
}

/// CPU time used so far and resident memory now.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// utime + stime, seconds.
    pub cpu_secs: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

fn free_port() -> Result<u16, String> {
    let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    Ok(probe.local_addr().map_err(|e| e.to_string())?.port())
}

impl ServerProcess {
    /// Creates `users` token-only users, then starts the server on a free loopback port and
    /// waits until it accepts connections.
    pub async fn start(
        bin: &Path,
        users: usize,
        extra_env: &[(&str, &str)],
    ) -> Result<(Self, Vec<Provisioned>), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let db: PathBuf = dir.path().join("bench.db");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let env = |cmd: &mut Command| {
            cmd.env("SWITCHBOARD_CONFIG", dir.path().join("none.toml"))
                .env("SWITCHBOARD_DATABASE_PATH", &db)
                .env("SWITCHBOARD_SERVER_LISTEN", addr.to_string())
                .env("SWITCHBOARD_SERVER_SITE_ROOT", dir.path())
                // Load clients ping rarely; they send far more than a person does.
                .env("SWITCHBOARD_WEBSOCKET_HEARTBEAT_MS", "300000")
                .env("SWITCHBOARD_LIMITS_MESSAGES_PER_SECOND", "100000")
                .env("RUST_LOG", "warn")
                .envs(extra_env.iter().copied());
        };
        std::fs::write(dir.path().join("none.toml"), "").map_err(|e| e.to_string())?;
        let mut provision = Command::new(bin);
        provision.args([
            "admin",
            "provision",
            "--prefix",
            "load",
            "--count",
            &users.to_string(),
        ]);
        env(&mut provision);
        let out = provision
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        if !out.status.success() {
            return Err(format!("admin provision failed: {}", out.status));
        }
        let accounts = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(serde_json::from_str::<Provisioned>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("unreadable provision output: {e}"))?;

        let mut serve = Command::new(bin);
        env(&mut serve);
        let child = serve
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        let server = Self {
            child,
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if Instant::now() > deadline {
                return Err("the server did not start listening within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok((server, accounts))
    }

    /// The process's CPU time and RSS, from /proc.
    pub fn usage(&self) -> Usage {
        let pid = self.child.id();
        let cpu_secs = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // Fields after the command name (which may hold spaces) start at field 3.
                let rest = &stat[stat.rfind(')')? + 1..];
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let utime: f64 = fields.get(11)?.parse().ok()?;
                let stime: f64 = fields.get(12)?.parse().ok()?;
                Some((utime + stime) / TICKS_PER_SEC)
            })
            .unwrap_or(0.0);
        let rss_bytes = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
                let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(kib * 1024)
            })
            .unwrap_or(0);
        Usage {
            cpu_secs,
            rss_bytes,
        }
    }
}

impl ServerProcess {
    /// Sends SIGTERM and waits (at most `limit`) for the process to exit; returns how long that
    /// took and whether it exited cleanly.
    pub async fn terminate(&mut self, limit: Duration) -> Result<(Duration, bool), String> {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("kill -TERM failed".into());
        }
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok((started.elapsed(), status.success()));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err(format!("still running {limit:?} after SIGTERM"))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
