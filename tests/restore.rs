//! Backup, restore and the store epoch, against the real binary: a restore rewinds seqs, so it
//! starts a new epoch, and a client that follows the documented rule (docs/PROTOCOL.md, Resume)
//! gets every message stored after it, where its old cursors would have hidden them. SQLite
//! here; the same on Postgres in `restore/postgres.rs`.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/binary.rs"]
mod binary;
#[path = "harness/http.rs"]
mod http;
#[path = "harness/postgres.rs"]
mod pg;
#[path = "restore/postgres.rs"]
mod postgres;
#[path = "restore/support.rs"]
mod support;

use std::path::{Path, PathBuf};

use switchboard::protocol::{ConvId, Cursor, Seq};

use support::{Device, Server, admin, backup, everything, messages, pair, restore};

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
    let before = support::ten_kept_then_ten_lost(dir.path(), &db, &copy).await;

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
    support::only_the_kept_and_the_new(dir.path(), &db, before).await;
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
    support::each_refused(dir.path(), &db, &[&corrupt, &text, &foreign]);
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
