//! PROTOCOL.md, *Heartbeat*: liveness is the server's job. It pings after an interval in
//! which it received nothing and counts any frame or pong as life, so a client that only
//! receives stays connected; one that answers nothing is closed after two silent intervals.
//!
//! "An hour with a short interval": the rule is per interval, so the test holds the reader for
//! 180 intervals of 1 s, which at the default 20 s interval is an hour (about three minutes of
//! wall time; the other conformance tests run beside it).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use switchboard::protocol::{Cursor, HEARTBEAT_MISSES, Seq, close_code};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{TestServer, room};

/// The interval these tests run with.
const HEARTBEAT: Duration = Duration::from_millis(1000);

/// How many intervals the passive reader is held for: an hour at the default 20 s.
const INTERVALS: u32 = 180;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passive_reader_of_a_busy_room_stays_connected_without_sending() {
    let server = TestServer::start_with(|c| c.heartbeat = HEARTBEAT).await;
    let (talker_cookie, _) = server.user("talker").await;
    let (reader_cookie, _) = server.user("lurker").await;
    let (mut talker, _) = server.device(&talker_cookie, vec![]).await;
    let conv = room(&mut talker, "busy", true).await;
    let (mut reader, _) = server
        .device(&reader_cookie, vec![Cursor { conv, seq: Seq(0) }])
        .await;
    // The reader's one and only frame after resume: the join (its answers come before the
    // test starts counting).
    reader
        .send(&switchboard::protocol::ClientFrame::JoinRoom { conv })
        .await;
    reader.conversation().await;

    let stop = Arc::new(AtomicBool::new(false));
    let talking = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                talker.post(conv, &format!("t{n}"), "still here").await;
                n += 1;
                tokio::time::sleep(HEARTBEAT / 4).await;
            }
            n
        })
    };

    // From here the reader only reads; tungstenite answers the server's pings as it does.
    let started = Instant::now();
    let (mut messages, mut pings) = (0u32, 0u32);
    while started.elapsed() < HEARTBEAT * INTERVALS {
        let next = tokio::time::timeout(Duration::from_secs(10), reader.ws.next()).await;
        match next {
            Ok(Some(Ok(Message::Text(_)))) => messages += 1,
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(other))) => panic!("reader ended after {:?}: {other:?}", started.elapsed()),
            Ok(other) => panic!("reader ended after {:?}: {other:?}", started.elapsed()),
            Err(_) => panic!("the room went quiet for 10 s"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sent = talking.await.unwrap();
    assert!(messages >= INTERVALS, "{messages} frames read, {sent} sent");
    // Receiving all along, the reader never went a whole interval without a server ping
    // being due: the server pinged it about once an interval, and kept it for the pongs.
    assert!(
        pings >= INTERVALS / 4,
        "the server sent {pings} pings in {INTERVALS} intervals"
    );
    // Still alive: a ping now is answered.
    reader
        .send(&switchboard::protocol::ClientFrame::Ping { nonce: 77 })
        .await;
    reader
        .until(|f| matches!(f, switchboard::protocol::ServerFrame::Pong { nonce: 77 }))
        .await;
}

/// The opcodes of the frames in `bytes` (a server's unmasked frames), and the close code if
/// a close frame is among them; stops at an incomplete frame.
fn frames(bytes: &[u8]) -> (Vec<u8>, Option<u16>) {
    let (mut opcodes, mut close) = (Vec::new(), None);
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let opcode = bytes[at] & 0x0f;
        let (len, header) = match bytes[at + 1] & 0x7f {
            126 if at + 4 <= bytes.len() => (
                usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])),
                4,
            ),
            127 if at + 10 <= bytes.len() => {
                let mut len = [0u8; 8];
                len.copy_from_slice(&bytes[at + 2..at + 10]);
                (usize::try_from(u64::from_be_bytes(len)).unwrap(), 10)
            }
            126 | 127 => break,
            len => (usize::from(len), 2),
        };
        let payload = at + header;
        if payload + len > bytes.len() {
            break;
        }
        if opcode == 0x8 && len >= 2 {
            close = Some(u16::from_be_bytes([bytes[payload], bytes[payload + 1]]));
        }
        opcodes.push(opcode);
        at = payload + len;
    }
    (opcodes, close)
}

#[tokio::test]
async fn a_client_that_answers_nothing_is_pinged_then_closed_after_two_intervals() {
    let server = TestServer::start_with(|c| c.heartbeat = HEARTBEAT).await;
    let (cookie, _) = server.user("mute").await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let upgrade = format!(
        "GET /ws?v=1 HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Origin: {}\r\nCookie: {cookie}\r\n\r\n",
        server.addr,
        server.origin()
    );
    tcp.write_all(upgrade.as_bytes()).await.unwrap();
    // One masked text frame (mask key 0: the payload as is), then silence: this client never
    // writes again, not even a pong, but it reads everything.
    let resume = br#"{"type":"resume","cursors":[]}"#;
    let mut frame = vec![0x81, 0x80 | u8::try_from(resume.len()).unwrap(), 0, 0, 0, 0];
    frame.extend_from_slice(resume);
    tcp.write_all(&frame).await.unwrap();
    let silent_from = Instant::now();

    let mut bytes = Vec::new();
    let read_all = tokio::time::timeout(
        HEARTBEAT * HEARTBEAT_MISSES + Duration::from_secs(10),
        async {
            let mut chunk = [0u8; 4096];
            loop {
                match tcp.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                }
            }
        },
    )
    .await;
    let took = silent_from.elapsed();
    assert!(read_all.is_ok(), "still open after {took:?}");
    let head_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer")
        + 4;
    assert!(
        bytes.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&bytes[..head_end])
    );
    let (opcodes, close) = frames(&bytes[head_end..]);
    let pings = opcodes.iter().filter(|op| **op == 0x9).count();
    assert_eq!(
        pings,
        usize::try_from(HEARTBEAT_MISSES - 1).unwrap(),
        "one ping per silent interval before the last: {opcodes:?}"
    );
    assert_eq!(close, Some(close_code::NORMAL), "{opcodes:?}");
    assert!(
        took >= HEARTBEAT * HEARTBEAT_MISSES - Duration::from_millis(100),
        "closed after {took:?}, before {HEARTBEAT_MISSES} intervals"
    );
}
