//! The switchboard binary as a child process: a clean environment plus the settings asked
//! for, the address from its `listening` log line, its log kept, SIGKILL or SIGTERM, and a
//! restart with the same settings (so on the same database).

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How to start the binary: which one, in which directory, with which environment.
#[derive(Clone, Debug)]
pub struct Spawn {
    bin: PathBuf,
    dir: PathBuf,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

/// `bin` made absolute against the current directory when it is a relative path with more than
/// one component; absolute paths and bare names (found on `PATH`) stay as they are.
fn from_here(bin: PathBuf) -> PathBuf {
    match std::env::current_dir() {
        Ok(here) if bin.is_relative() && bin.components().count() > 1 => here.join(bin),
        _ => bin,
    }
}

/// How long [`Spawn::start`] waits for the `listening` line.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

impl Spawn {
    /// `bin` run in `dir`, with `RUST_LOG` and `SWITCHBOARD_CONFIG` removed from the inherited
    /// environment (no config file unless one is named) and nothing else set yet. A relative
    /// path such as `target/release/switchboard` is taken from this process's directory, not
    /// from `dir` (where the child starts, and where Unix would look for it); a bare name is
    /// looked up on `PATH`.
    pub fn new(bin: impl Into<PathBuf>, dir: impl AsRef<Path>) -> Self {
        Self {
            bin: from_here(bin.into()),
            dir: dir.as_ref().to_owned(),
            env: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Sets an environment variable (`SWITCHBOARD_*` settings, `RUST_LOG`).
    pub fn env(mut self, key: impl Into<String>, value: impl AsRef<std::ffi::OsStr>) -> Self {
        let value = value.as_ref().to_string_lossy().into_owned();
        self.env.push((key.into(), value));
        self
    }

    /// Adds command-line arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The command, ready to run: stdout and stderr piped (override them as needed).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.dir)
            .env_remove("RUST_LOG")
            .env_remove("SWITCHBOARD_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts it and waits for its `listening` line.
    pub fn start(&self) -> Result<Node, String> {
        self.start_watching(|_| {})
    }

    /// Starts it and waits for its `listening` line; `seen` gets every line before it.
    pub fn start_watching(&self, seen: impl FnMut(&str)) -> Result<Node, String> {
        let mut child = self
            .command()
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        let log = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            keep(BufReader::new(stderr).lines(), Arc::clone(&log));
        }
        match listening(&mut child, &log, seen) {
            Ok(addr) => Ok(Node {
                child,
                addr,
                spawn: self.clone(),
                log,
            }),
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = log.lock().map(|l| l.clone()).unwrap_or_default();
                Err(format!("{err}:\n{log}"))
            }
        }
    }
}

/// Reads `child`'s piped stdout until its `listening` line (text logs) and returns the address
/// that line names; `seen` gets every line before it. Every line goes to `log`, and stdout is
/// drained into it from then on, so the server never blocks on a full pipe.
pub fn listening(
    child: &mut Child,
    log: &Arc<Mutex<String>>,
    mut seen: impl FnMut(&str),
) -> Result<String, String> {
    let stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else {
            return Err("the server exited before listening".into());
        };
        append(log, &line);
        if line.contains("listening")
            && let Some(addr) = field(&line, "addr=")
        {
            keep(lines, Arc::clone(log));
            return Ok(addr);
        }
        seen(&line);
    }
    Err(format!("no listening line within {START_TIMEOUT:?}"))
}

/// The value of `key` (e.g. `addr=`) in a text log line.
fn field(line: &str, key: &str) -> Option<String> {
    let rest = line.split(key).nth(1)?;
    Some(rest.split_whitespace().next()?.to_owned())
}

fn append(log: &Mutex<String>, line: &str) {
    if let Ok(mut log) = log.lock() {
        log.push_str(line);
        log.push('\n');
    }
}

/// Drains `lines` into `log` on a thread of its own, so the child never blocks on a full pipe.
fn keep<R: BufRead + Send + 'static>(lines: std::io::Lines<R>, log: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            append(&log, &line);
        }
    });
}

/// A running switchboard process; killed (SIGKILL) when dropped.
pub struct Node {
    child: Child,
    /// Where it listens (`host:port`).
    pub addr: String,
    spawn: Spawn,
    log: Arc<Mutex<String>>,
}

impl Node {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it has written to stdout and stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// SIGKILL: no goodbye to anyone. Waits until it is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (the graceful drain) and returns at once.
    pub fn terminate(&self) -> Result<(), String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -TERM failed: {status}"))
        }
    }

    /// Its exit status once it has exited, polling until `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!("still running after {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (SIGKILL, if still running) and starts it again with the same settings: the
    /// same database, a new address if the port was 0.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        *self = self.spawn.start()?;
        Ok(())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_binary_is_found_from_here_not_from_the_childs_directory() {
        let here = std::env::current_dir().unwrap();
        let spawn = Spawn::new("target/release/switchboard", "/tmp");
        assert_eq!(spawn.bin, here.join("target/release/switchboard"));
        assert_eq!(Spawn::new("./sb", "/tmp").bin, here.join("./sb"));
        assert_eq!(
            Spawn::new("/usr/bin/sb", "/tmp").bin,
            Path::new("/usr/bin/sb")
        );
        assert_eq!(Spawn::new("sb", "/tmp").bin, Path::new("sb"));
    }

    #[test]
    fn a_relative_binary_runs_in_another_directory() {
        // `sh` through a relative path from the root, started in a temporary directory.
        let root = std::env::current_dir().unwrap();
        let rel: PathBuf = Path::new("/bin/sh")
            .strip_prefix("/")
            .map(|p| {
                root.components()
                    .skip(1)
                    .map(|_| Path::new(".."))
                    .collect::<PathBuf>()
                    .join(p)
            })
            .unwrap();
        let dir = std::env::temp_dir();
        let out = Spawn::new(rel, &dir)
            .args(["-c", "pwd"])
            .command()
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            dir.canonicalize().unwrap().to_string_lossy()
        );
    }
}
