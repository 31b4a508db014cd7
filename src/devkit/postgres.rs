//! A throwaway Postgres for tests, the load generator and `switchboard dev-services`: the Debian
//! server binaries (`/usr/lib/postgresql/<n>/bin`,
//! newest version), a fresh cluster in a temporary directory, listening on a free loopback port.
//! Trust authentication, superuser `postgres`, one database `switchboard`.
//!
//! Postgres refuses to run as root. Tests run as root here and in CI, so when the process is root
//! every Postgres binary runs through `runuser -u postgres --` (the system user the Debian package
//! creates) and the directory belongs to that user.
//!
//! Everything here panics with what went wrong: it sets up a machine for development, where a
//! missing package or a full disk should stop everything with a clear message.

use super::{free_port, wait_for_port};
use std::{
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::PathBuf,
    process::{Command, Output, Stdio},
    time::Duration,
};

/// A running (or stopped) Postgres of one test.
pub struct PgServer {
    /// `postgres://postgres@127.0.0.1:<port>/switchboard`.
    pub url: String,
    /// Where it listens (on 127.0.0.1).
    pub port: u16,
    /// Directory of `initdb`, `pg_ctl`, `postgres`.
    bin: PathBuf,
    /// Holds the cluster (`data/`), the Unix socket and the server log; removed on drop.
    dir: tempfile::TempDir,
    /// The system user the binaries run as, when this process is root: (uid, gid).
    owner: Option<(u32, u32)>,
    /// Whether the server was started and not stopped since.
    running: bool,
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has the server binaries.
fn find_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Postgres server binaries not installed (no /usr/lib/postgresql)")
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|b| bin.join(b).exists())
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .expect("no /usr/lib/postgresql/<version>/bin with initdb, pg_ctl and postgres")
}

/// The `postgres` system user's (uid, gid), when this process runs as root.
fn owner_if_root() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").expect("/proc/self").uid();
    if me != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let entry = passwd
        .lines()
        .find(|line| line.starts_with("postgres:"))
        .expect("running as root, but there is no `postgres` user to run Postgres as");
    let fields: Vec<&str> = entry.split(':').collect();
    let uid = fields[2].parse().expect("postgres uid");
    let gid = fields[3].parse().expect("postgres gid");
    Some((uid, gid))
}

/// Panics with everything a failed command said.
fn check(what: &str, out: std::io::Result<Output>) {
    let out = out.unwrap_or_else(|err| panic!("{what}: could not run: {err}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PgServer {
    /// Creates a cluster, starts it, and creates the `switchboard` database.
    pub async fn start() -> PgServer {
        let bin = find_bin();
        let owner = owner_if_root();
        // Under /tmp (world-traversable), so the postgres user can reach it when we are root.
        let dir = tempfile::Builder::new()
            .prefix("switchboard-pg-")
            .tempdir_in("/tmp")
            .expect("temporary directory");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod the temporary directory");
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("chown the temporary directory to postgres");
        }
        let mut server = PgServer {
            url: String::new(),
            port: 0,
            bin,
            dir,
            owner,
            running: false,
        };
        let data = server.data_dir();
        let initdb = server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            // A throwaway cluster: its creation need not be flushed to disk.
            .args(["--no-sync", "--no-instructions"])
            .output();
        check("initdb", initdb);

        // Another process may take the port between choosing and binding it: choose again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            server.port = free_port();
            match server.try_start() {
                Ok(()) => break,
                Err(log) if attempts < 5 && log.contains("already in use") => continue,
                Err(log) => panic!("Postgres did not start:\n{log}"),
            }
        }
        server.url = format!("postgres://postgres@127.0.0.1:{}/switchboard", server.port);

        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to the new Postgres");
        sqlx::query("CREATE DATABASE switchboard")
            .execute(&mut conn)
            .await
            .expect("create the database");
        sqlx::Connection::close(conn).await.ok();
        server
    }

    /// Stops the server (fast shutdown: connections are cut, nothing committed is lost) and
    /// waits until it is down. Idempotent.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let out = self.pg_ctl_stop("fast");
        self.running = false;
        check("pg_ctl stop", out);
    }

    /// Starts the stopped server again, on the same port and data, and waits until it accepts
    /// connections.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(log) = self.try_start() {
            panic!("Postgres did not start again:\n{log}");
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's log file.
    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// A command running `program` from the Postgres binaries, as the postgres user when we
    /// are root, from the temporary directory (which that user can enter).
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.owner.is_some() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        command
    }

    /// `pg_ctl stop` with shutdown `mode` (`fast`: cut connections, lose nothing committed;
    /// `immediate`: no shutdown checkpoint), waiting up to 30 s.
    fn pg_ctl_stop(&self, mode: &str) -> std::io::Result<Output> {
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", mode, "-w", "-t", "30", "stop"])
            .output()
    }

    /// Starts the server on `self.port` and waits until it accepts connections; on failure,
    /// what this attempt logged.
    fn try_start(&mut self) -> Result<(), String> {
        let log = self.log_file();
        // Only this attempt's lines: the port check above reads them.
        let _ = std::fs::remove_file(&log);
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {}",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "-w", "-t", "30", "start"])
            .output()
            .map_err(|err| format!("could not run pg_ctl: {err}"))?;
        if !out.status.success() {
            return Err(format!(
                "{}\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            ));
        }
        self.running = true;
        wait_for_port(self.port, Duration::from_secs(10))
            .map_err(|err| format!("{err}\n{}", self.log()))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        // Never panic in drop (it may run while a failed test unwinds).
        let stopped = self
            .pg_ctl_stop("fast")
            .is_ok_and(|out| out.status.success());
        if !stopped {
            let _ = self.pg_ctl_stop("immediate");
        }
        self.running = false;
        // The directory goes with `self.dir`.
    }
}
