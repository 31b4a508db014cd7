//! What the restore tests share: a server process and admin commands on either database, and
//! a device that speaks just enough of the protocol to post, resume and read back.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output},
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use switchboard::protocol::{
    self, ClientFrame, ClientMsgId, ConvId, ConvSummary, Cursor, Epoch, EventBody, Seq,
    ServerFrame, UserId, cursors_survive,
};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    binary::{self, Ws, command, listening_addr},
    http::register,
};

pub const ORIGIN: &str = "http://test.invalid";

/// The database a process is pointed at: an SQLite file or a Postgres URL.
#[derive(Clone, Copy, Debug)]
pub enum Db<'a> {
    File(&'a Path),
    Url(&'a str),
}

impl<'a> From<&'a PathBuf> for Db<'a> {
    fn from(path: &'a PathBuf) -> Self {
        Self::File(path)
    }
}

impl<'a> From<&'a str> for Db<'a> {
    fn from(url: &'a str) -> Self {
        Self::Url(url)
    }
}

/// `switchboard` in `dir`, configured for `db`.
fn command_on<'a>(dir: &Path, db: impl Into<Db<'a>>) -> Command {
    let mut cmd = command(dir);
    match db.into() {
        Db::File(path) => cmd.env("SWITCHBOARD_DATABASE_PATH", path),
        Db::Url(url) => cmd.env("SWITCHBOARD_DATABASE_URL", url),
    };
    cmd
}

/// A server process on the database `db`, and its address.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    pub fn start<'a>(dir: &Path, db: impl Into<Db<'a>>) -> Self {
        let mut child = command_on(dir, db)
            .env("SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0")
            .env("SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS", ORIGIN)
            .spawn()
            .unwrap();
        let addr = listening_addr(&mut child);
        Self { child, addr }
    }

    /// SIGTERM, then waits (generously) for a clean exit.
    pub fn stop(mut self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status:?}");
                return;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `switchboard admin <args…>` on the database `db`.
pub fn admin<'a>(dir: &Path, db: impl Into<Db<'a>>, args: &[&std::ffi::OsStr]) -> Output {
    command_on(dir, db)
        .arg("admin")
        .args(args)
        .output()
        .unwrap()
}

pub fn backup<'a>(dir: &Path, db: impl Into<Db<'a>>, to: &Path) {
    let out = admin(dir, db, &["backup".as_ref(), "--to".as_ref(), to.as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn restore<'a>(dir: &Path, db: impl Into<Db<'a>>, from: &Path) -> Output {
    admin(
        dir,
        db,
        &["restore".as_ref(), "--from".as_ref(), from.as_ref()],
    )
}

/// Restores each of `bad` on `db`: each is refused (exit 1), saying the database was not
/// changed.
pub fn each_refused<'a>(dir: &Path, db: impl Into<Db<'a>>, bad: &[&PathBuf]) {
    let db = db.into();
    for bad in bad {
        let out = restore(dir, db, bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", bad.display());
        assert!(
            stderr.contains("was not changed"),
            "{}: {stderr}",
            bad.display()
        );
    }
}

/// One device of a user: a socket that has had its hello.
pub struct Device {
    pub ws: Ws,
    pub epoch: Epoch,
}

pub async fn next(ws: &mut Ws) -> ServerFrame {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("a frame within 20 s")
            .expect("socket open")
            .expect("no socket error");
        if let Message::Text(text) = message {
            return protocol::decode_server(text.as_str()).unwrap();
        }
    }
}

impl Device {
    /// Opens `/ws` with `cookie` and reads the hello.
    pub async fn open(addr: &str, cookie: &str) -> Self {
        let mut ws = binary::browser_ws(addr, ORIGIN, cookie).await;
        match next(&mut ws).await {
            ServerFrame::Hello { epoch, .. } => Self { ws, epoch },
            other => panic!("expected hello, got {other:?}"),
        }
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        self.ws
            .send(Message::text(protocol::encode_client(frame)))
            .await
            .unwrap();
    }

    /// Resumes from `cursors`; the frames up to `synced`.
    pub async fn resume(&mut self, cursors: Vec<Cursor>) -> Vec<ServerFrame> {
        self.send(&ClientFrame::Resume { cursors }).await;
        let mut frames = Vec::new();
        loop {
            match next(&mut self.ws).await {
                ServerFrame::Synced {} => return frames,
                frame => frames.push(frame),
            }
        }
    }

    /// Sends `n` messages `<prefix> <i>` into `conv` and waits for every ack; their seqs.
    pub async fn post(&mut self, conv: ConvId, prefix: &str, n: usize) -> Vec<i64> {
        for i in 0..n {
            self.send(&ClientFrame::Send {
                client_msg_id: ClientMsgId(format!("{prefix}-{i}")),
                conv,
                body: format!("{prefix} {i}"),
                reply_to: None,
            })
            .await;
        }
        let mut seqs = Vec::new();
        while seqs.len() < n {
            if let ServerFrame::Ack { seq, .. } = next(&mut self.ws).await {
                seqs.push(seq.0);
            }
        }
        seqs
    }
}

/// The message bodies among `frames`, with their seqs, in order.
pub fn messages(frames: &[ServerFrame]) -> Vec<(i64, String)> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Event(e) => match &e.body {
                EventBody::Message { body, .. } => Some((e.seq.0, body.clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Two users with a direct conversation: the first's cookie, the second's cookie, the
/// conversation, and the first's resumed device.
pub async fn pair(addr: &str) -> (String, String, ConvId, Device) {
    pair_named(addr, "ann", "ben").await
}

/// [`pair`] with other names.
pub async fn pair_named(addr: &str, first: &str, second: &str) -> (String, String, ConvId, Device) {
    let (ann, _) = register(addr, first).await;
    let (ben, ben_id): (String, UserId) = register(addr, second).await;
    let mut device = Device::open(addr, &ann).await;
    device.resume(vec![]).await;
    device.send(&ClientFrame::OpenDirect { user: ben_id }).await;
    let conv = loop {
        if let ServerFrame::Conversation(summary) = next(&mut device.ws).await {
            break summary.id;
        }
    };
    (ann, ben, conv, device)
}

/// Opens a device of `cookie`: its epoch, and the messages of `conv` it gets resuming from 0.
pub async fn everything(addr: &str, cookie: &str, conv: ConvId) -> (Epoch, Vec<(i64, String)>) {
    let mut device = Device::open(addr, cookie).await;
    let frames = device.resume(vec![Cursor { conv, seq: Seq(0) }]).await;
    (device.epoch, messages(&frames))
}

/// What a client had before a restore lost its last messages.
pub struct Before {
    /// The first user's cookie.
    pub ann: String,
    /// The second user's cookie.
    pub ben: String,
    /// Their direct conversation.
    pub conv: ConvId,
    /// The epoch the first user's device had.
    pub epoch: Epoch,
    /// Its cursors, which name messages the restore will lose.
    pub cursors: Vec<Cursor>,
}

/// A server on `db`: two users in a direct conversation, ten messages `kept <i>` (seqs 1–10),
/// a backup to `copy`, then ten `lost <i>` (11–20) that a restore of it loses; the server is
/// stopped.
pub async fn ten_kept_then_ten_lost<'a>(dir: &Path, db: impl Into<Db<'a>>, copy: &Path) -> Before {
    let db = db.into();
    let server = Server::start(dir, db);
    let (ann, ben, conv, mut device) = pair(&server.addr).await;
    assert_eq!(
        device.post(conv, "kept", 10).await,
        (1..=10).collect::<Vec<_>>()
    );
    backup(dir, db, copy);
    // Stored after the backup: the restore loses these, and the client has seen them.
    assert_eq!(
        device.post(conv, "lost", 10).await,
        (11..=20).collect::<Vec<_>>()
    );
    let (epoch, cursors) = (device.epoch.clone(), vec![Cursor { conv, seq: Seq(20) }]);
    drop(device);
    server.stop();
    Before {
        ann,
        ben,
        conv,
        epoch,
        cursors,
    }
}

/// After the restore of [`ten_kept_then_ten_lost`]'s backup, on a server started on `db`:
/// new messages take the lost ones' seqs, old cursors would hide them, and a client that drops
/// its cursors on the new epoch gets the ten kept and the five new ones.
pub async fn only_the_kept_and_the_new<'a>(dir: &Path, db: impl Into<Db<'a>>, before: Before) {
    let Before {
        ann,
        ben,
        conv,
        epoch: old_epoch,
        cursors: old_cursors,
    } = before;
    let server = Server::start(dir, db);
    let mut other = Device::open(&server.addr, &ben).await;
    other.resume(vec![]).await;
    // New messages take the seqs the lost ones had.
    assert_eq!(
        other.post(conv, "new", 5).await,
        (11..=15).collect::<Vec<_>>()
    );

    // With the old cursor, the replay would hide all five: the bug the epoch is for.
    let mut blind = Device::open(&server.addr, &ann).await;
    assert!(messages(&blind.resume(old_cursors.clone()).await).is_empty());
    drop(blind);

    // The client follows the rule: another epoch, so no cursors.
    let mut device = Device::open(&server.addr, &ann).await;
    assert_ne!(device.epoch, old_epoch, "a restore starts a new epoch");
    assert!(!cursors_survive(Some(&old_epoch), &device.epoch));
    let frames = device.resume(vec![]).await;
    let summary: Vec<&ConvSummary> = frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Conversation(s) if s.id == conv => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(summary.len(), 1, "the conversation is announced again");
    assert_eq!(summary[0].epoch, device.epoch, "and carries the new epoch");
    assert_eq!(summary[0].last_seq, Seq(15));
    let expected: Vec<(i64, String)> = (0..10)
        .map(|i| (i + 1, format!("kept {i}")))
        .chain((0..5).map(|i| (i + 11, format!("new {i}"))))
        .collect();
    assert_eq!(messages(&frames), expected);
    server.stop();
}
