//! Backup, restore and the store epoch, against the real binary: a restore rewinds seqs, so it
//! starts a new epoch, and a client that follows the documented rule (docs/PROTOCOL.md, Resume)
//! gets every message stored after it, where its old cursors would have hidden them.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/binary.rs"]
mod binary;
#[path = "harness/http.rs"]
mod http;

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

use binary::{Ws, command, listening_addr};
use http::register;

const ORIGIN: &str = "http://test.invalid";

/// A server process on the database `db`, and its address.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(dir: &Path, db: &Path) -> Self {
        let mut child = command(dir)
            .env("SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0")
            .env("SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS", ORIGIN)
            .env("SWITCHBOARD_DATABASE_PATH", db)
            .spawn()
            .unwrap();
        let addr = listening_addr(&mut child);
        Self { child, addr }
    }

    /// SIGTERM, then waits (generously) for a clean exit.
    fn stop(mut self) {
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
fn admin(dir: &Path, db: &Path, args: &[&std::ffi::OsStr]) -> Output {
    command(dir)
        .env("SWITCHBOARD_DATABASE_PATH", db)
        .arg("admin")
        .args(args)
        .output()
        .unwrap()
}

fn backup(dir: &Path, db: &Path, to: &Path) {
    let out = admin(dir, db, &["backup".as_ref(), "--to".as_ref(), to.as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn restore(dir: &Path, db: &Path, from: &Path) -> Output {
    admin(
        dir,
        db,
        &["restore".as_ref(), "--from".as_ref(), from.as_ref()],
    )
}

/// One device of a user: a socket that has had its hello.
struct Device {
    ws: Ws,
    epoch: Epoch,
}

async fn next(ws: &mut Ws) -> ServerFrame {
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
    async fn open(addr: &str, cookie: &str) -> Self {
        let mut ws = binary::browser_ws(addr, ORIGIN, cookie).await;
        match next(&mut ws).await {
            ServerFrame::Hello { epoch, .. } => Self { ws, epoch },
            other => panic!("expected hello, got {other:?}"),
        }
    }

    async fn send(&mut self, frame: &ClientFrame) {
        self.ws
            .send(Message::text(protocol::encode_client(frame)))
            .await
            .unwrap();
    }

    /// Resumes from `cursors`; the frames up to `synced`.
    async fn resume(&mut self, cursors: Vec<Cursor>) -> Vec<ServerFrame> {
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
    async fn post(&mut self, conv: ConvId, prefix: &str, n: usize) -> Vec<i64> {
        for i in 0..n {
            self.send(&ClientFrame::Send {
                client_msg_id: ClientMsgId(format!("{prefix}-{i}")),
                conv,
                body: format!("{prefix} {i}"),
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
fn messages(frames: &[ServerFrame]) -> Vec<(i64, String)> {
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
async fn pair(addr: &str) -> (String, String, ConvId, Device) {
    let (ann, _) = register(addr, "ann").await;
    let (ben, ben_id): (String, UserId) = register(addr, "ben").await;
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
async fn everything(addr: &str, cookie: &str, conv: ConvId) -> (Epoch, Vec<(i64, String)>) {
    let mut device = Device::open(addr, cookie).await;
    let frames = device.resume(vec![Cursor { conv, seq: Seq(0) }]).await;
    (device.epoch, messages(&frames))
}

/// A server on `chat.db` in a fresh directory, two users in a direct conversation, `n`
/// messages `<prefix> <i>` from the first, then a backup to `backup.db`.
struct Setup {
    dir: tempfile::TempDir,
    db: PathBuf,
    copy: PathBuf,
    server: Server,
    ann: String,
    conv: ConvId,
    device: Device,
}

async fn backed_up(prefix: &str, n: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let copy = dir.path().join("backup.db");
    let server = Server::start(dir.path(), &db);
    let (ann, _, conv, mut device) = pair(&server.addr).await;
    device.post(conv, prefix, n).await;
    backup(dir.path(), &db, &copy);
    Setup {
        dir,
        db,
        copy,
        server,
        ann,
        conv,
        device,
    }
}

fn files(dir: &Path, db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let name = db.file_name().unwrap().to_str().unwrap().to_owned();
    let mut found: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n == name || n == format!("{name}-wal")
        })
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn after_a_restore_a_client_with_old_cursors_sees_a_new_epoch_and_gets_every_new_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let copy = dir.path().join("backup.db");
    let server = Server::start(dir.path(), &db);
    let (ann, ben, conv, mut device) = pair(&server.addr).await;
    assert_eq!(
        device.post(conv, "kept", 10).await,
        (1..=10).collect::<Vec<_>>()
    );
    backup(dir.path(), &db, &copy);
    // Stored after the backup: the restore loses these, and the client has seen them.
    assert_eq!(
        device.post(conv, "lost", 10).await,
        (11..=20).collect::<Vec<_>>()
    );
    let (old_epoch, old_cursors) = (device.epoch.clone(), vec![Cursor { conv, seq: Seq(20) }]);
    drop(device);
    server.stop();

    let out = restore(dir.path(), &db, &copy);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("store epoch") && stdout.contains("kept as"),
        "{stdout}"
    );

    let server = Server::start(dir.path(), &db);
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

#[tokio::test]
async fn a_plain_restart_keeps_the_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let server = Server::start(dir.path(), &db);
    let (ann, _, conv, mut device) = pair(&server.addr).await;
    device.post(conv, "before", 3).await;
    let epoch = device.epoch.clone();
    assert_eq!(epoch.0.len(), 16, "{epoch}");
    drop(device);
    server.stop();

    let server = Server::start(dir.path(), &db);
    let mut device = Device::open(&server.addr, &ann).await;
    assert_eq!(device.epoch, epoch);
    // So the cursor stands, and the replay after it is exactly what is new.
    let mut other = Device::open(&server.addr, &ann).await;
    other.resume(vec![Cursor { conv, seq: Seq(3) }]).await;
    other.post(conv, "after", 2).await;
    let frames = device.resume(vec![Cursor { conv, seq: Seq(3) }]).await;
    assert_eq!(
        messages(&frames),
        vec![(4, "after 0".to_owned()), (5, "after 1".to_owned())]
    );
    server.stop();
}

#[tokio::test]
async fn restore_and_new_epoch_refuse_the_database_of_a_running_server() {
    let setup = backed_up("first", 2).await;
    let (dir, db, copy) = (setup.dir, setup.db, setup.copy);
    let (server, mut device) = (setup.server, setup.device);
    let (ann, conv) = (setup.ann, setup.conv);
    device.post(conv, "second", 2).await;

    let out = restore(dir.path(), &db, &copy);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stop it first"), "{stderr}");
    let out = admin(dir.path(), &db, &["new-epoch".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it first"));

    // The server still has everything, in the same epoch.
    let (epoch, got) = everything(&server.addr, &ann, conv).await;
    assert_eq!((epoch, got.len()), (device.epoch.clone(), 4));
    drop(device);
    server.stop();

    // Stopped, new-epoch works, and only changes the epoch.
    let out = admin(dir.path(), &db, &["new-epoch".as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(dir.path(), &db);
    let (epoch, got) = everything(&server.addr, &ann, conv).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains(&epoch.0));
    assert_eq!(got.len(), 4);
    server.stop();
}

#[tokio::test]
async fn a_missing_corrupt_or_foreign_backup_is_refused_and_the_database_is_kept() {
    let setup = backed_up("safe", 3).await;
    let epoch = setup.device.epoch.clone();
    drop(setup.device);
    setup.server.stop();
    let (dir, db, copy, ann, conv) = (setup.dir, setup.db, setup.copy, setup.ann, setup.conv);
    let before = files(dir.path(), &db);

    let missing = dir.path().join("nope.db");
    let out = restore(dir.path(), &db, &missing);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    // A real backup with a page overwritten halfway through.
    let corrupt = dir.path().join("corrupt.db");
    let mut bytes = std::fs::read(&copy).unwrap();
    assert!(bytes.len() > 8192, "the backup has several pages");
    let middle = bytes.len() / 2;
    bytes[middle..middle + 2048].fill(0xA5);
    std::fs::write(&corrupt, &bytes).unwrap();
    // Not SQLite at all, and another application's SQLite file.
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "just some notes\n".repeat(500)).unwrap();
    let foreign = dir.path().join("foreign.db");
    binary::foreign_sqlite(&foreign);
    for bad in [&corrupt, &text, &foreign] {
        let out = restore(dir.path(), &db, bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", bad.display());
        assert!(
            stderr.contains("was not changed"),
            "{}: {stderr}",
            bad.display()
        );
    }
    assert_eq!(files(dir.path(), &db), before, "the database was modified");
    assert!(
        !dir.path().join("chat.db.restoring").exists(),
        "the partial copy is gone"
    );

    let server = Server::start(dir.path(), &db);
    let (after, got) = everything(&server.addr, &ann, conv).await;
    assert_eq!(after, epoch, "a refused restore changes no epoch");
    assert_eq!(got.len(), 3);
    server.stop();
}

#[tokio::test]
async fn a_backup_put_in_place_by_hand_starts_a_new_epoch_each_time() {
    let setup = backed_up("m", 2).await;
    let mut seen = vec![setup.device.epoch.clone()];
    drop(setup.device);
    setup.server.stop();
    let (dir, db, copy, ann) = (setup.dir, setup.db, setup.copy, setup.ann);

    // The old instructions: copy the backup over the database, delete the log files, start.
    for _ in 0..2 {
        std::fs::copy(&copy, &db).unwrap();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("chat.db{suffix}")));
        }
        let server = Server::start(dir.path(), &db);
        let device = Device::open(&server.addr, &ann).await;
        assert!(
            !seen.contains(&device.epoch),
            "{} repeats {seen:?}",
            device.epoch
        );
        seen.push(device.epoch.clone());
        drop(device);
        server.stop();
        // A restart after that keeps the new one.
        let server = Server::start(dir.path(), &db);
        assert_eq!(
            Device::open(&server.addr, &ann).await.epoch,
            seen[seen.len() - 1]
        );
        server.stop();
    }
}
