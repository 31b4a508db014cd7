//! The server binary as an operator runs it: configuration errors, signals, exit codes.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    process::Command,
    time::{Duration, Instant},
};

use futures::StreamExt;
use switchboard::{
    client::wire,
    devkit::Node,
    protocol::{self, ServerFrame, close_code},
};
use tokio_tungstenite::tungstenite::Message;

#[path = "harness/binary.rs"]
mod binary;
#[path = "harness/http.rs"]
mod http;

use binary::{Ws, browser_ws, command, spawner};
use http::{ORIGIN, register};

#[test]
fn a_bad_config_value_stops_the_server_naming_key_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let output = command(dir.path())
        .env("SWITCHBOARD_SERVER_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.listen"), "{stderr}");
    assert!(stderr.contains("not-an-address"), "{stderr}");

    std::fs::write(
        dir.path().join("Leptos.toml"),
        "[limits]\nmax_frame_byte = 1\n",
    )
    .unwrap();
    let output = command(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("limits.max_frame_byte"), "{stderr}");
}

#[test]
fn a_named_config_file_that_is_missing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = command(dir.path())
        .args(["--config", "nope.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nope.toml"));
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = command(dir.path())
        .env("SWITCHBOARD_SERVER_LISTEN", &addr)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&addr) && stderr.contains("server.listen"),
        "{stderr}"
    );
}

#[tokio::test]
async fn sigterm_says_goodbye_to_open_sockets_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawner(dir.path())
        .env("SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS", ORIGIN)
        .start()
        .unwrap();
    let addr = child.addr.clone();

    let (cookie, _) = register(&addr, "sigterm").await;

    let mut client = browser_ws(&addr, ORIGIN, &cookie).await;
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    };
    let hello = next().await;
    assert!(matches!(
        protocol::decode_server(hello.to_text().unwrap()).unwrap(),
        ServerFrame::Hello { .. }
    ));

    child.terminate().unwrap();

    let reconnect = next().await;
    assert!(matches!(
        protocol::decode_server(reconnect.to_text().unwrap()).unwrap(),
        ServerFrame::Reconnect { .. }
    ));
    match next().await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), close_code::GOING_AWAY),
        other => panic!("expected close, got {other:?}"),
    }
    let status = child.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status:?}");
}

/// Opens `/ws` with `cookie`, reads the hello, and resumes with `cursors` (JSON array).
async fn open(addr: &str, cookie: &str, cursors: &str) -> Ws {
    let mut ws = browser_ws(addr, ORIGIN, cookie).await;
    wire::read_hello(&mut ws, Duration::from_secs(10))
        .await
        .unwrap();
    wire::send_text(
        &mut ws,
        format!(r#"{{"type":"resume","cursors":{cursors}}}"#),
    )
    .await
    .unwrap();
    ws
}

fn start_server(dir: &std::path::Path, db: &std::path::Path) -> (Node, String) {
    let child = spawner(dir)
        .env("SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS", ORIGIN)
        .env("SWITCHBOARD_DATABASE_PATH", db)
        .env("SWITCHBOARD_LIMITS_MESSAGES_PER_SECOND", "100000")
        .env("SWITCHBOARD_LIMITS_OUTBOUND_BYTES", "268435456")
        .start()
        .unwrap();
    let addr = child.addr.clone();
    (child, addr)
}

#[tokio::test]
async fn kill_9_mid_stream_loses_no_acked_message_and_duplicates_none() {
    use futures::SinkExt;
    use std::collections::HashMap;
    const SENT: usize = 3000;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let (mut child, addr) = start_server(dir.path(), &db);
    let (cookie, _) = register(&addr, "crasher").await;
    let (_, peer) = register(&addr, "witness").await;

    let mut ws = open(&addr, &cookie, "[]").await;
    ws.send(Message::text(format!(
        r#"{{"type":"open_direct","user":{peer}}}"#
    )))
    .await
    .unwrap();
    let conv = loop {
        let frame =
            protocol::decode_server(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
        if let ServerFrame::Conversation(summary) = frame {
            break summary.id;
        }
    };

    let (mut sink, mut stream) = ws.split();
    tokio::spawn(async move {
        for i in 0..SENT {
            let frame =
                format!(r#"{{"type":"send","client_msg_id":"c{i}","conv":{conv},"body":"n{i}"}}"#);
            if sink.send(Message::text(frame)).await.is_err() {
                break;
            }
        }
    });
    // Collect acks until a few hundred have arrived, then kill the server without warning.
    let mut acked: HashMap<String, i64> = HashMap::new();
    let mut killed = false;
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        if let Ok(ServerFrame::Ack {
            client_msg_id, seq, ..
        }) = protocol::decode_server(text.as_str())
        {
            acked.insert(client_msg_id.0, seq.0);
        }
        if acked.len() >= 300 && !killed {
            child.kill();
            killed = true;
        }
    }
    assert!(killed, "the stream ended before the kill");
    child.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(
        acked.len() >= 300 && acked.len() < SENT,
        "acked {} of {SENT}",
        acked.len()
    );

    // Restart on the same file and read everything back.
    let (mut child, addr) = start_server(dir.path(), &db);
    let started = Instant::now();
    let mut ws = open(&addr, &cookie, &format!(r#"[{{"conv":{conv},"seq":0}}]"#)).await;
    let mut stored: Vec<(i64, String)> = Vec::new();
    loop {
        let frame =
            protocol::decode_server(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
        match frame {
            ServerFrame::Event(protocol::Event {
                seq,
                body: protocol::EventBody::Message { client_msg_id, .. },
                ..
            }) => stored.push((seq.0, client_msg_id.0)),
            ServerFrame::Synced {} => break,
            _ => {}
        }
    }
    let replay = started.elapsed();
    let seqs: Vec<i64> = stored.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as i64).collect::<Vec<_>>(),
        "no gaps"
    );
    let by_id: HashMap<&str, i64> = stored.iter().map(|(s, id)| (id.as_str(), *s)).collect();
    assert_eq!(by_id.len(), stored.len(), "no client_msg_id stored twice");
    for (id, seq) in &acked {
        assert_eq!(
            by_id.get(id.as_str()),
            Some(seq),
            "acked {id} at {seq} must survive"
        );
    }
    eprintln!(
        "kill -9: {} acked before the kill, {} stored (acked ⊆ stored), replayed in {replay:?}",
        acked.len(),
        stored.len()
    );
    child.terminate().unwrap();
    child.wait_exit(Duration::from_secs(10)).unwrap();
}

/// Registers `a` and `b`, opens `a`'s socket and a direct conversation with `b`: `a`'s cookie,
/// socket and the conversation id.
async fn direct_pair(addr: &str, a: &str, b: &str) -> (String, Ws, i64) {
    use futures::SinkExt;
    let (cookie, _) = register(addr, a).await;
    let (_, peer) = register(addr, b).await;
    let mut ws = open(addr, &cookie, "[]").await;
    ws.send(Message::text(format!(
        r#"{{"type":"open_direct","user":{peer}}}"#
    )))
    .await
    .unwrap();
    loop {
        let text = ws.next().await.unwrap().unwrap();
        if let Ok(ServerFrame::Conversation(c)) = protocol::decode_server(text.to_text().unwrap()) {
            return (cookie, ws, c.id.0);
        }
    }
}

/// Sends `n` messages into `conv` on `ws` and waits for every ack.
async fn send_acked(ws: &mut Ws, conv: i64, prefix: &str, n: usize) {
    use futures::SinkExt;
    for i in 0..n {
        let frame = format!(
            r#"{{"type":"send","client_msg_id":"{prefix}{i}","conv":{conv},"body":"{prefix} {i}"}}"#
        );
        ws.send(Message::text(frame)).await.unwrap();
    }
    let mut acked = 0;
    while acked < n {
        let text = ws.next().await.unwrap().unwrap();
        if let Ok(ServerFrame::Ack { .. }) = protocol::decode_server(text.to_text().unwrap()) {
            acked += 1;
        }
    }
}

/// Every message body the server replays for `conv` from seq 0, in order.
async fn replay_bodies(addr: &str, cookie: &str, conv: i64) -> Vec<String> {
    let mut ws = open(addr, cookie, &format!(r#"[{{"conv":{conv},"seq":0}}]"#)).await;
    let mut bodies = Vec::new();
    loop {
        let text = ws.next().await.unwrap().unwrap();
        match protocol::decode_server(text.to_text().unwrap()).unwrap() {
            ServerFrame::Event(protocol::Event {
                body: protocol::EventBody::Message { body, .. },
                ..
            }) => bodies.push(body),
            ServerFrame::Synced {} => return bodies,
            _ => {}
        }
    }
}

#[tokio::test]
async fn an_online_backup_is_consistent_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let (mut child, addr) = start_server(dir.path(), &db);
    let (cookie, mut ws, conv) = direct_pair(&addr, "keeper", "reader").await;
    send_acked(&mut ws, conv, "before", 200).await;

    // Back up while the server runs and keeps writing.
    let writing = tokio::spawn(async move {
        send_acked(&mut ws, conv, "during", 200).await;
        ws
    });
    let copy = dir.path().join("copy.db");
    let out = command(dir.path())
        .env("SWITCHBOARD_DATABASE_PATH", &db)
        .args(["admin", "backup", "--to"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ws = writing.await.unwrap();

    // A second backup to the same file is refused, the first left as it was.
    let size = std::fs::metadata(&copy).unwrap().len();
    let again = command(dir.path())
        .env("SWITCHBOARD_DATABASE_PATH", &db)
        .args(["admin", "backup", "--to"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), size);
    child.kill();
    child.wait_exit(Duration::from_secs(10)).unwrap();

    // Restore = start a server on the copy: the 200 from before are all there, in order, and
    // the copy is a snapshot (a prefix of what was sent during the backup, never a gap).
    let (mut restored, addr) = start_server(dir.path(), &copy);
    let bodies = replay_bodies(&addr, &cookie, conv).await;
    let before: Vec<String> = (0..200).map(|i| format!("before {i}")).collect();
    assert_eq!(bodies[..200], before[..]);
    let during: Vec<String> = (0..bodies.len() - 200)
        .map(|i| format!("during {i}"))
        .collect();
    assert_eq!(bodies[200..], during[..]);
    restored.kill();
    restored.wait_exit(Duration::from_secs(10)).unwrap();
}

#[test]
fn a_database_that_is_not_ours_or_is_newer_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let start = |db: &std::path::Path| {
        let out = command(dir.path())
            .env("SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0")
            .env("SWITCHBOARD_DATABASE_PATH", db)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // Another application's SQLite file.
    let foreign = dir.path().join("foreign.db");
    binary::foreign_sqlite(&foreign);
    let bytes = std::fs::read(&foreign).unwrap();
    let (code, stderr) = start(&foreign);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("not a switchboard database"), "{stderr}");
    assert_eq!(
        std::fs::read(&foreign).unwrap(),
        bytes,
        "the file was modified"
    );

    // Not SQLite at all.
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "just some notes, not a database\n".repeat(200)).unwrap();
    let (code, stderr) = start(&text);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot read it as SQLite"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "just some notes, not a database\n".repeat(200)
    );

    // Ours, but migrated by a newer release.
    let newer = dir.path().join("newer.db");
    let out = command(dir.path())
        .env("SWITCHBOARD_DATABASE_PATH", &newer)
        .args(["admin", "provision", "--prefix", "newer", "--count", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let status = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c = sqlite3.connect({:?}); c.execute(\"insert into _sqlx_migrations (version, description, success, checksum, execution_time) values (9999, 'future', 1, x'00', 0)\"); c.commit(); c.execute('pragma wal_checkpoint(truncate)')",
            newer.to_str().unwrap()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&newer).unwrap();
    let (code, stderr) = start(&newer);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("newer than this switchboard knows"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&newer).unwrap(),
        bytes,
        "the file was modified"
    );
}

#[tokio::test]
async fn readyz_says_ready_and_healthz_says_up() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_server(dir.path(), &dir.path().join("ready.db"));
    let ready = http::admin_get(&addr, "/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
    let health = http::admin_get(&addr, "/healthz").await.unwrap();
    assert_eq!(health.status(), 200);
    child.kill();
    child.wait_exit(Duration::from_secs(10)).unwrap();
}

#[tokio::test]
async fn metrics_count_traffic_on_the_admin_address_and_logs_can_be_json() {
    use futures::SinkExt;
    let dir = tempfile::tempdir().unwrap();
    let admin = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let mut child = command(dir.path())
        .env("SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_SERVER_ADMIN_LISTEN", &admin)
        .env("SWITCHBOARD_SERVER_LOG_FORMAT", "json")
        .env(
            "SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS",
            "http://test.invalid",
        )
        .env("SWITCHBOARD_DATABASE_PATH", dir.path().join("m.db"))
        .spawn()
        .unwrap();
    // JSON logs: the listening line is an object with the address in its fields.
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("a log line").unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        if value["fields"]["message"] == "listening" {
            break value["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let (_, mut ws, conv) = direct_pair(&addr, "metered", "counted").await;
    send_acked(&mut ws, conv, "m", 3).await;
    ws.send(Message::text("{not json")).await.unwrap();
    loop {
        let text = ws.next().await.unwrap().unwrap();
        if text.to_text().unwrap().contains("malformed_frame") {
            break;
        }
    }

    let body = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        body.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_else(|| panic!("{name} missing from:\n{body}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("switchboard_connections_open"), 1.0);
    assert_eq!(value("switchboard_messages_routed_total"), 3.0);
    assert!(value("switchboard_deliveries_total") >= 3.0);
    assert_eq!(
        value("switchboard_rejected_frames_total{reason=\"malformed_frame\"}"),
        1.0
    );
    assert!(body.contains("switchboard_commit_seconds_bucket"), "{body}");
    let ready = reqwest::get(format!("http://{admin}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    // Not on the public address.
    let public = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_ne!(public.text().await.unwrap(), body);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn sigterm_mid_stream_then_restart_loses_nothing_and_repeats_nothing() {
    use futures::SinkExt;
    use std::collections::HashMap;
    const SENT: usize = 2000;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drain.db");
    let (mut child, addr) = start_server(dir.path(), &db);
    let (cookie, ws, conv) = direct_pair(&addr, "drainer", "watcher").await;
    let (mut sink, mut stream) = ws.split();
    let frame = move |i: usize| {
        format!(r#"{{"type":"send","client_msg_id":"d{i}","conv":{conv},"body":"n{i}"}}"#)
    };
    let sending = tokio::spawn(async move {
        for i in 0..SENT {
            if sink.send(Message::text(frame(i))).await.is_err() {
                return;
            }
        }
    });
    // After 200 acks, SIGTERM: the client must be told to reconnect, then see 1001.
    let mut acked: HashMap<String, i64> = HashMap::new();
    let (mut termed, mut told) = (false, false);
    let close = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => match protocol::decode_server(text.as_str()) {
                Ok(ServerFrame::Ack {
                    client_msg_id, seq, ..
                }) => {
                    acked.insert(client_msg_id.0, seq.0);
                }
                Ok(ServerFrame::Reconnect { .. }) => told = true,
                _ => {}
            },
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
        if acked.len() >= 200 && !termed {
            child.terminate().unwrap();
            termed = true;
        }
    };
    sending.abort();
    assert!(told, "a reconnect frame came before the close");
    assert_eq!(close, Some(close_code::GOING_AWAY));
    assert!(child.wait_exit(Duration::from_secs(15)).unwrap().success());

    // Restart; the client resends everything it was not acked for, with the same ids, as the
    // browser's outbox does; then everything is there once, in order.
    let (mut child, addr) = start_server(dir.path(), &db);
    let mut ws = open(&addr, &cookie, "[]").await;
    let missing: Vec<usize> = (0..SENT)
        .filter(|i| !acked.contains_key(&format!("d{i}")))
        .collect();
    for &i in &missing {
        ws.send(Message::text(frame(i))).await.unwrap();
    }
    let mut acks = 0;
    while acks < missing.len() {
        let text = ws.next().await.unwrap().unwrap();
        if let Ok(ServerFrame::Ack { .. }) = protocol::decode_server(text.to_text().unwrap()) {
            acks += 1;
        }
    }
    let bodies = replay_bodies(&addr, &cookie, conv).await;
    assert_eq!(bodies.len(), SENT, "every message stored exactly once");
    let mut sorted = bodies.clone();
    sorted.sort_by_key(|b| b[1..].parse::<usize>().unwrap());
    assert_eq!(
        sorted,
        (0..SENT).map(|i| format!("n{i}")).collect::<Vec<_>>()
    );
    // What was acked before the restart kept its place at the front, in send order.
    let before: Vec<String> = bodies[..acked.len()].to_vec();
    assert_eq!(
        before,
        (0..acked.len())
            .map(|i| format!("n{i}"))
            .collect::<Vec<_>>()
    );
    child.kill();
    child.wait_exit(Duration::from_secs(10)).unwrap();
}
