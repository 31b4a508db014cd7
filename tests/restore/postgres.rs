//! Backup and restore on Postgres (the logical export, no `pg_dump`), against the real binary
//! and a throwaway Postgres: the same promise as on SQLite — a restore starts a new epoch and a
//! client following the rule gets every new message — and the same refusals, with the database
//! left as it was.

use crate::{
    pg::PgServer,
    support::{
        self, Server, admin, backup, everything, only_the_kept_and_the_new, pair, pair_named,
        restore,
    },
};

#[tokio::test]
async fn postgres_after_a_restore_a_client_with_old_cursors_sees_a_new_epoch_and_gets_every_new_message()
 {
    let pg = PgServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url.as_str();
    let copy = dir.path().join("backup.jsonl");
    let before = support::ten_kept_then_ten_lost(dir.path(), url, &copy).await;

    let out = restore(dir.path(), url, &copy);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("store epoch"), "{stdout}");
    let old_conv = before.conv;
    only_the_kept_and_the_new(dir.path(), url, before).await;

    // The id sequences moved past the restored rows: new users and conversations still work.
    let server = Server::start(dir.path(), url);
    let (carl, _, conv, mut device) = pair_named(&server.addr, "carl", "dora").await;
    assert_ne!(conv, old_conv);
    assert_eq!(device.post(conv, "fresh", 2).await, vec![1, 2]);
    drop(device);
    let (_, got) = everything(&server.addr, &carl, conv).await;
    assert_eq!(got.len(), 2);
    server.stop();
}

#[tokio::test]
async fn postgres_restore_refuses_a_running_server_and_a_bad_backup_and_keeps_the_database() {
    let pg = PgServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url.as_str();
    let copy = dir.path().join("backup.jsonl");
    let server = Server::start(dir.path(), url);
    let (ann, _, conv, mut device) = pair(&server.addr).await;
    device.post(conv, "safe", 3).await;
    backup(dir.path(), url, &copy);
    let again = backup_refused_over(dir.path(), url, &copy);
    assert!(again.contains("never overwrites"), "{again}");

    let out = restore(dir.path(), url, &copy);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stop every node first"), "{stderr}");
    let epoch = device.epoch.clone();
    drop(device);
    server.stop();

    let missing = dir.path().join("nope.jsonl");
    let out = restore(dir.path(), url, &missing);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    // The real backup cut short (no end line), a row that breaks a rule of the schema (a
    // message from a user who does not exist), plain text, and an SQLite file.
    let text = std::fs::read_to_string(&copy).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let short = dir.path().join("short.jsonl");
    std::fs::write(&short, lines[..lines.len() - 1].join("\n")).unwrap();
    let broken = dir.path().join("broken.jsonl");
    let events = lines.iter().position(|l| l.contains("\"events\"")).unwrap();
    let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    edited[events + 1] = edited[events + 1].replace("\"sender_id\":", "\"sender_id\":9999");
    std::fs::write(&broken, edited.join("\n")).unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "just some notes\n".repeat(50)).unwrap();
    let sqlite = dir.path().join("foreign.db");
    crate::binary::foreign_sqlite(&sqlite);
    support::each_refused(dir.path(), url, &[&short, &broken, &notes, &sqlite]);

    let server = Server::start(dir.path(), url);
    let (after, got) = everything(&server.addr, &ann, conv).await;
    assert_eq!(after, epoch, "a refused restore changes no epoch");
    assert_eq!(got.len(), 3);
    server.stop();
}

/// `admin backup` to a file that exists: it must fail; what it said.
fn backup_refused_over(dir: &std::path::Path, url: &str, to: &std::path::Path) -> String {
    let out = admin(dir, url, &["backup".as_ref(), "--to".as_ref(), to.as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}
