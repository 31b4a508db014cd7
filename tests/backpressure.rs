//! Clients that cannot keep up, against the real server: the byte budget of a connection's
//! outgoing queue holds whatever the client asks for, a reader that stops is evicted and
//! resumes with nothing lost, and a reader that only pauses is left alone.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/binary.rs"]
mod binary;
#[path = "harness/server.rs"]
mod harness;
#[path = "harness/http.rs"]
mod http;

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use harness::{Device, TestServer, messages, room};
use switchboard::{
    client::{self, Target, wire},
    devkit::Node,
    protocol::{self, ClientFrame, ClientMsgId, ConvId, Cursor, Seq, ServerFrame, close_code},
};
use tokio_tungstenite::tungstenite::Message;

/// Joins `conv` and waits until the server has announced it.
async fn join(device: &mut Device, conv: ConvId) {
    device.send(&ClientFrame::JoinRoom { conv }).await;
    assert_eq!(device.conversation().await, conv);
}

/// Sends `n` messages of `body` in windows of 50, reading acks (and everything else) as a
/// healthy client does. Returns the last seq acked.
async fn post_many(device: &mut Device, conv: ConvId, prefix: &str, n: usize, body: &str) -> i64 {
    let mut last = 0;
    for window in (0..n).collect::<Vec<_>>().chunks(50) {
        for i in window {
            device
                .send(&ClientFrame::Send {
                    client_msg_id: ClientMsgId(format!("{prefix}{i}")),
                    conv,
                    body: body.to_owned(),
                    reply_to: None,
                })
                .await;
        }
        let mut acked = 0;
        while acked < window.len() {
            match device.next().await {
                ServerFrame::Ack { seq, .. } => {
                    acked += 1;
                    last = last.max(seq.0);
                }
                ServerFrame::Error { code, message, .. } => panic!("{code:?}: {message}"),
                _ => {}
            }
        }
    }
    last
}

/// Reads `device` until it has every message of `conv` up to `until` after `after`; returns
/// their seqs in arrival order (a bounded wait: 60 s).
async fn read_up_to(device: &mut Device, conv: ConvId, after: i64, until: i64) -> Vec<i64> {
    let mut seqs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seqs.last().copied().unwrap_or(after) < until {
        assert!(Instant::now() < deadline, "caught up within 60 s");
        let frame = device.next().await;
        seqs.extend(
            messages(std::slice::from_ref(&frame), conv)
                .into_iter()
                .map(|(seq, _)| seq),
        );
    }
    seqs
}

/// The server's eviction count, from `/metrics`.
async fn evictions(server: &TestServer) -> u64 {
    let text = server.admin_get("/metrics").await.text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with("switchboard_evictions_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[tokio::test]
async fn a_stalled_reader_is_evicted_and_resumes_while_a_briefly_slow_one_is_left_alone() {
    // The wait budget is the default 10 s, far above anything a busy machine adds to the
    // brief reader's 1 s pause (it also reads nothing while the 400 messages are posted); the
    // stalled one stops for good.
    let server = TestServer::start_with(|c| {
        c.messages_per_second = 100_000;
    })
    .await;
    let (a, _) = server.user("talker").await;
    let (b, _) = server.user("paused").await;
    let (c, _) = server.user("stopped").await;
    let (mut talker, _) = server.device(&a, vec![]).await;
    let conv = room(&mut talker, "backlog", true).await;
    let (mut brief, _) = server.device(&b, vec![]).await;
    join(&mut brief, conv).await;
    let (mut stalled, _) = server.device(&c, vec![]).await;
    join(&mut stalled, conv).await;
    let joined = 3;

    // Phase 1: the brief reader pauses for 1 s while a megabyte or so arrives for it; then it
    // reads everything, in order, without being evicted.
    let body = "y".repeat(3000);
    let pause = Instant::now();
    let last = post_many(&mut talker, conv, "p", 400, &body).await;
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(pause.elapsed())).await;
    let seqs = read_up_to(&mut brief, conv, joined, last).await;
    assert_eq!(seqs, ((joined + 1)..=last).collect::<Vec<_>>());

    // Phase 2: the stalled reader never reads. Traffic goes on until the server has evicted it
    // (its socket buffers fill, then its oldest frame waits past 10 s); bounded at 90 s.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut round = 0;
    let mut last = last;
    let mut brief_seen = last;
    while evictions(&server).await == 0 {
        assert!(
            Instant::now() < deadline,
            "the stalled reader was never evicted"
        );
        last = post_many(&mut talker, conv, &format!("s{round}-"), 200, &body).await;
        // The brief reader keeps up all along.
        let seqs = read_up_to(&mut brief, conv, brief_seen, last).await;
        assert_eq!(seqs, ((brief_seen + 1)..=last).collect::<Vec<_>>());
        brief_seen = last;
        round += 1;
    }
    assert_eq!(evictions(&server).await, 1, "only the stalled reader");

    // The stalled one finds its backlog, then the end of the connection (close 4008, or the
    // socket ending if even the close frame found no room). Every event of the room arrives,
    // from its creation on, in order.
    let mut had = 0;
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), stalled.ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Ok(ServerFrame::Event(e)) = protocol::decode_server(text.as_str())
                    && e.conv == conv
                {
                    assert_eq!(e.seq.0, had + 1, "in order, no gap");
                    had = e.seq.0;
                }
            }
            Ok(Some(Ok(Message::Close(Some(frame))))) => break u16::from(frame.code),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break close_code::TOO_SLOW,
            Err(_) => panic!("the evicted connection neither closed nor ended"),
        }
    };
    assert_eq!(ended, close_code::TOO_SLOW);
    assert!(had < last, "evicted before it caught up ({had} of {last})");

    // It resumes from what it had and gets exactly the rest.
    let (_, replay) = server
        .device(
            &c,
            vec![Cursor {
                conv,
                seq: Seq(had),
            }],
        )
        .await;
    let resumed: Vec<i64> = messages(&replay, conv).into_iter().map(|m| m.0).collect();
    assert_eq!(resumed, ((had + 1)..=last).collect::<Vec<_>>());

    // The brief reader is still connected.
    brief.send(&ClientFrame::Ping { nonce: 7 }).await;
    brief
        .until(|f| matches!(f, ServerFrame::Pong { nonce: 7 }))
        .await;
}

// --- The byte budget, measured on the server process ---------------------------------------

/// Resident memory of `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap()
        * 1024
}

/// Starts the server binary with defaults except for what a load of this size needs.
fn start_binary(dir: &std::path::Path) -> (Node, String) {
    let child = binary::spawner(dir)
        .env("SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_WEBSOCKET_ALLOWED_ORIGINS", http::ORIGIN)
        .env("SWITCHBOARD_DATABASE_PATH", dir.join("b.db"))
        .env("SWITCHBOARD_LIMITS_MESSAGES_PER_SECOND", "100000")
        // This test is about bytes, not request rates: the read budget is out of the way.
        .env("SWITCHBOARD_LIMITS_READS_PER_SECOND", "1000000")
        .start()
        .unwrap();
    let addr = child.addr.clone();
    (child, addr)
}

type Ws = client::Socket;

/// A resumed socket for `cookie`; a small receive buffer when `small` (a client that stops
/// reading then backs up at once).
async fn open(addr: &str, cookie: &str, small: bool) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if small {
        socket.set_recv_buffer_size(4096).unwrap();
    }
    let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    let target = Target::new(addr).origin(http::ORIGIN).cookie(cookie);
    let mut ws = client::open_on(stream, &target, None).await.unwrap();
    ws.send(Message::text(r#"{"type":"resume","cursors":[]}"#))
        .await
        .unwrap();
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        if frame.to_text().unwrap().contains("\"synced\"") {
            return ws;
        }
    }
}

async fn send(ws: &mut Ws, frame: &ClientFrame) {
    wire::send_frame(ws, frame).await.unwrap();
}

/// The next frame matching `wanted` (bounded: 30 s).
async fn wait_for(ws: &mut Ws, wanted: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("answered within 30 s")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            let frame = protocol::decode_server(text.as_str()).unwrap();
            if wanted(&frame) {
                return frame;
            }
        }
    }
}

#[tokio::test]
async fn a_client_asking_for_history_without_reading_is_held_to_its_byte_budget() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_binary(dir.path());
    let (owner_cookie, _) = http::register(&addr, "archivist").await;
    let (hoarder_cookie, _) = http::register(&addr, "hoarder").await;
    let (friend_cookie, _) = http::register(&addr, "friend").await;
    let mut owner = open(&addr, &owner_cookie, false).await;
    send(
        &mut owner,
        &ClientFrame::CreateRoom {
            name: "archive".into(),
            public: true,
        },
    )
    .await;
    let conv = match wait_for(&mut owner, |f| matches!(f, ServerFrame::Conversation(_))).await {
        ServerFrame::Conversation(c) => c.id,
        _ => unreachable!(),
    };
    // 100 long messages: one history page of them is ~400 KB.
    let body = "z".repeat(4000);
    for i in 0..100 {
        send(
            &mut owner,
            &ClientFrame::Send {
                client_msg_id: ClientMsgId(format!("long{i}")),
                conv,
                body: body.clone(),
                reply_to: None,
            },
        )
        .await;
        wait_for(&mut owner, |f| matches!(f, ServerFrame::Ack { .. })).await;
    }
    let mut friend = open(&addr, &friend_cookie, false).await;
    send(&mut friend, &ClientFrame::JoinRoom { conv }).await;
    wait_for(&mut friend, |f| matches!(f, ServerFrame::Conversation(_))).await;

    let mut hoarder = open(&addr, &hoarder_cookie, true).await;
    send(&mut hoarder, &ClientFrame::JoinRoom { conv }).await;
    wait_for(&mut hoarder, |f| matches!(f, ServerFrame::Conversation(_))).await;
    let pid = child.pid();
    let before = rss(pid);

    // 1,100 history requests (~70 KB sent), never reading the ~440 MB of answers.
    let (mut sink, stream) = hoarder.split();
    let request = protocol::encode_client(&ClientFrame::History {
        conv,
        before: Seq(101),
        limit: 100,
    });
    let flood = tokio::spawn(async move {
        for _ in 0..1_100 {
            // The server stops reading once it has evicted us; that is the point.
            if tokio::time::timeout(
                Duration::from_secs(5),
                sink.send(Message::text(request.clone())),
            )
            .await
            .map_or(true, |sent| sent.is_err())
            {
                break;
            }
        }
    });
    // Sampled for at least 4 s and until the flood is over (bounded: 60 s), so a slow machine
    // that stretches the flood does not hide its peak.
    let mut peak = before;
    let sampling = Instant::now();
    while (sampling.elapsed() < Duration::from_secs(4) || !flood.is_finished())
        && sampling.elapsed() < Duration::from_secs(60)
    {
        peak = peak.max(rss(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    flood.await.unwrap();

    // Meanwhile a well-behaved member still talks and is heard.
    send(
        &mut owner,
        &ClientFrame::Send {
            client_msg_id: ClientMsgId("after".into()),
            conv,
            body: "still here".into(),
            reply_to: None,
        },
    )
    .await;
    wait_for(&mut owner, |f| matches!(f, ServerFrame::Ack { .. })).await;
    wait_for(&mut friend, |f| {
        matches!(f, ServerFrame::Event(e) if matches!(&e.body, protocol::EventBody::Message { body, .. } if body == "still here"))
    })
    .await;

    // The hoarder was evicted: reading now, it finds some answers and then the end.
    let mut stream = stream;
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.next().await {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|f| u16::from(f.code)) == Some(close_code::TOO_SLOW);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return true,
            }
        }
    })
    .await
    .expect("the hoarder's connection ended");
    assert!(ended, "closed with 4008 or dropped");

    let grew = peak.saturating_sub(before);
    eprintln!(
        "server RSS {} MiB before, peak {} MiB during the flood (+{} MiB)",
        before >> 20,
        peak >> 20,
        grew >> 20
    );
    // The budget is 4 MiB of queue per connection; allow for the answer being built, the
    // allocator and the debug build. Before the budget this grew by ~2.4 GiB.
    assert!(grew < 64 << 20, "server RSS grew by {} MiB", grew >> 20);
    child.kill();
}
