//! The server under test: a child process with its own database (started through
//! `switchboard::devkit::Spawn`), and what it costs.

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use switchboard::{devkit::Spawn, server::accounts::Provisioned};

/// Linux reports CPU time in clock ticks of 1/100 s (`getconf CLK_TCK`).
const TICKS_PER_SEC: f64 = 100.0;

/// The server under test: one switchboard process, or (cluster mode) several nodes sharing a
/// Postgres and a Redis.
pub struct ServerProcess {
    /// The node processes.
    children: Vec<Child>,
    /// Where the first node listens.
    pub addr: SocketAddr,
    /// Where each node listens; clients are spread over them round-robin.
    pub addrs: Vec<SocketAddr>,
    /// Its database directory, removed when this is dropped.
    _dir: tempfile::TempDir,
}

/// Cluster mode: how many nodes, and the Postgres and Redis they share (already running, e.g.
/// `scripts/cluster.sh --nodes 0`).
#[derive(Clone, Debug)]
pub struct ClusterTarget {
    /// Node count.
    pub nodes: usize,
    /// `postgres://…`.
    pub database_url: String,
    /// `redis://…`.
    pub redis_url: String,
}

/// CPU time used so far, and resident memory and open file descriptors now.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// utime + stime, seconds.
    pub cpu_secs: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// Open file descriptors (entries of `/proc/<pid>/fd`): sockets the server still holds.
    pub fds: u64,
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
        cluster: Option<&ClusterTarget>,
    ) -> Result<(Self, Vec<Provisioned>), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let db: PathBuf = dir.path().join("bench.db");
        let nodes = cluster.map_or(1, |c| c.nodes.max(1));
        let addrs = (0..nodes)
            .map(|_| Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?))))
            .collect::<Result<Vec<_>, String>>()?;
        let origins = addrs
            .iter()
            .map(|a| format!("http://{a}"))
            .collect::<Vec<_>>()
            .join(",");
        let spawner = |node: usize| {
            let mut spawn = Spawn::new(bin, dir.path())
                .env("SWITCHBOARD_CONFIG", dir.path().join("none.toml"))
                .env("SWITCHBOARD_DATABASE_PATH", &db)
                .env("SWITCHBOARD_SERVER_LISTEN", addrs[node].to_string())
                .env("SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS", &origins)
                .env("SWITCHBOARD_SERVER_ADMIN_TOKEN", ADMIN_TOKEN)
                .env("SWITCHBOARD_SERVER_SITE_ROOT", dir.path())
                // Load clients ping rarely; they send far more than a person does.
                .env("SWITCHBOARD_WEBSOCKET_HEARTBEAT_MS", "300000")
                .env("SWITCHBOARD_LIMITS_MESSAGES_PER_SECOND", "100000")
                .env("RUST_LOG", "warn");
            for (key, value) in extra_env {
                spawn = spawn.env(*key, value);
            }
            if let Some(cluster) = cluster {
                spawn = spawn
                    .env("SWITCHBOARD_DATABASE_URL", &cluster.database_url)
                    .env("SWITCHBOARD_CLUSTER_REDIS_URL", &cluster.redis_url)
                    .env("SWITCHBOARD_CLUSTER_NODE_ID", format!("bench{node}"));
            }
            spawn
        };
        std::fs::write(dir.path().join("none.toml"), "").map_err(|e| e.to_string())?;
        // A shared Postgres outlives one run: each run provisions users of its own.
        let prefix = if cluster.is_some() {
            format!(
                "l{}x{}x",
                std::process::id(),
                crate::client::unix_micros() % 1_000_000_000
            )
        } else {
            "load".to_owned()
        };
        let out = spawner(0)
            .args([
                "admin",
                "provision",
                "--prefix",
                &prefix,
                "--count",
                &users.to_string(),
            ])
            .command()
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

        let mut children = Vec::with_capacity(nodes);
        for node in 0..nodes {
            children.push(
                spawner(node)
                    .command()
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .map_err(|e| e.to_string())?,
            );
        }
        let server = Self {
            children,
            addr: addrs[0],
            addrs,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        for addr in &server.addrs {
            while !ready(*addr).await {
                if Instant::now() > deadline {
                    return Err(format!("{addr} was not ready within 30 s"));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if nodes > 1 {
            // Let every node hear every other one before traffic starts.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Ok((server, accounts))
    }

    /// The node client `n` connects to.
    pub fn addr_for(&self, n: usize) -> SocketAddr {
        self.addrs[n % self.addrs.len()]
    }

    /// CPU time, RSS and open fds summed over every node, from /proc.
    pub fn usage(&self) -> Usage {
        self.children
            .iter()
            .map(|child| usage_of(child.id()))
            .fold(Usage::default(), |a, b| Usage {
                cpu_secs: a.cpu_secs + b.cpu_secs,
                rss_bytes: a.rss_bytes + b.rss_bytes,
                fds: a.fds + b.fds,
            })
    }
}

impl ServerProcess {
    /// A counter or gauge from `/metrics`, summed over every node (0 if absent).
    pub async fn metric(&self, name: &str) -> f64 {
        let mut total = 0.0;
        for addr in &self.addrs {
            if let Some(text) = get(*addr, "/metrics").await {
                total += text
                    .lines()
                    .filter(|l| l.split_whitespace().next() == Some(name))
                    .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
                    .sum::<f64>();
            }
        }
        total
    }
}

/// The body of `GET path` from `addr`, if it answered at all.
async fn get(addr: SocketAddr, path: &str) -> Option<String> {
    Some(
        answer(addr, path)
            .await?
            .split_once("\r\n\r\n")?
            .1
            .to_owned(),
    )
}

/// Whether the node at `addr` answers `/readyz` with 200.
async fn ready(addr: SocketAddr) -> bool {
    answer(addr, "/readyz")
        .await
        .and_then(|text| Some(text.lines().next()?.split_whitespace().nth(1)? == "200"))
        .unwrap_or(false)
}

/// The admin token the servers are started with: `/metrics`, `/readyz` and `/healthz` are
/// served on the main listener only to requests carrying it.
pub const ADMIN_TOKEN: &str = "loadgen-admin-token-0123456789";

/// The whole answer (status line, headers, body) to a bare HTTP/1.0 `GET path` with the admin
/// token; `None` if `addr` did not answer within 10 s.
async fn answer(addr: SocketAddr, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.0\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.ok()?;
        Some(answer)
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .ok()?
}

/// One process's CPU time, RSS and open fds, from /proc.
fn usage_of(pid: u32) -> Usage {
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
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count() as u64);
    Usage {
        cpu_secs,
        rss_bytes,
        fds,
    }
}

impl ServerProcess {
    /// Sends SIGTERM and waits (at most `limit`) for the process to exit; returns how long that
    /// took and whether it exited cleanly.
    pub async fn terminate(&mut self, limit: Duration) -> Result<(Duration, bool), String> {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.children[0].id().to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("kill -TERM failed".into());
        }
        while started.elapsed() < limit {
            if let Some(status) = self.children[0].try_wait().map_err(|e| e.to_string())? {
                return Ok((started.elapsed(), status.success()));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err(format!("still running {limit:?} after SIGTERM"))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
