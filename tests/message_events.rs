//! Edit, delete, reply and react against the real server and real sockets: each is an event in
//! the conversation's seq that every device sees in one order and a resume replays; each
//! refusal is typed; a retried frame is stored once; and a deleted text leaves the SQLite file
//! and its write-ahead log.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{Device, TestServer, room};
use switchboard::protocol::{
    ClientFrame, ClientMsgId, ConvId, Cursor, ErrorCode, Event, EventBody, Seq, ServerFrame,
};

fn id(s: &str) -> ClientMsgId {
    ClientMsgId(s.into())
}

fn edit(cid: &str, conv: ConvId, target: Seq, body: &str) -> ClientFrame {
    ClientFrame::Edit {
        client_msg_id: id(cid),
        conv,
        target,
        body: body.into(),
    }
}

fn delete(cid: &str, conv: ConvId, target: Seq) -> ClientFrame {
    ClientFrame::Delete {
        client_msg_id: id(cid),
        conv,
        target,
    }
}

fn react(cid: &str, conv: ConvId, target: Seq, emoji: &str) -> ClientFrame {
    ClientFrame::React {
        client_msg_id: id(cid),
        conv,
        target,
        emoji: emoji.into(),
    }
}

fn unreact(cid: &str, conv: ConvId, target: Seq, emoji: &str) -> ClientFrame {
    ClientFrame::Unreact {
        client_msg_id: id(cid),
        conv,
        target,
        emoji: emoji.into(),
    }
}

fn reply(cid: &str, conv: ConvId, to: Seq, body: &str) -> ClientFrame {
    ClientFrame::Send {
        client_msg_id: id(cid),
        conv,
        body: body.into(),
        reply_to: Some(to),
    }
}

/// Sends `frame` and returns the code of the error answering it, checking that it names the
/// frame's id and type.
async fn refused(device: &mut Device, frame: ClientFrame) -> ErrorCode {
    let (want, kind) = (frame.client_msg_id().cloned(), frame.frame_type());
    device.send(&frame).await;
    loop {
        match device.next().await {
            ServerFrame::Error {
                code,
                client_msg_id,
                refused,
                ..
            } => {
                assert_eq!((client_msg_id, refused), (want, Some(kind)));
                return code;
            }
            ServerFrame::Ack { .. } => panic!("{frame:?} was accepted"),
            _ => {}
        }
    }
}

/// The events of `conv` a device receives until it holds the one at `last`.
async fn events_until(device: &mut Device, conv: ConvId, last: Seq) -> Vec<Event> {
    let mut got: Vec<Event> = Vec::new();
    while got.last().is_none_or(|e| e.seq < last) {
        if let ServerFrame::Event(event) = device.next().await
            && event.conv == conv
        {
            got.push(event);
        }
    }
    got
}

fn events_of(frames: &[ServerFrame], conv: ConvId) -> Vec<Event> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Event(e) if e.conv == conv => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// A room of Ann's that Ben joined, with a device each (Ann's second device too); the room's
/// last seq.
async fn lobby(server: &TestServer) -> (Device, Device, Device, ConvId, Seq, String) {
    let (ann, _) = server.user("ann").await;
    let (ben, _) = server.user("ben").await;
    let (mut ann1, _) = server.device(&ann, vec![]).await;
    let conv = room(&mut ann1, "lobby", true).await;
    let (mut ann2, _) = server.device(&ann, vec![]).await;
    let (mut ben1, _) = server.device(&ben, vec![]).await;
    ben1.send(&ClientFrame::JoinRoom { conv }).await;
    ben1.conversation().await;
    for device in [&mut ann1, &mut ann2, &mut ben1] {
        events_until(device, conv, Seq(2)).await;
    }
    (ann1, ann2, ben1, conv, Seq(2), ben)
}

#[tokio::test]
async fn every_action_reaches_every_device_in_one_order_and_replays_on_resume() {
    let server = TestServer::start().await;
    let (mut ann1, mut ann2, mut ben1, conv, start, ben) = lobby(&server).await;
    // Ben's second device only watches, as Ann's second does.
    let (mut ben2, _) = server.device(&ben, vec![Cursor { conv, seq: start }]).await;
    let helo = ben1.post(conv, "b-1", "helo").await;
    let oops = ben1.post(conv, "b-2", "oops, wrong room").await;
    let edited = ben1.acked(edit("b-3", conv, helo, "hello")).await;
    let thumbs = ann1.acked(react("a-1", conv, helo, "👍")).await;
    let party = ben1.acked(react("b-4", conv, helo, "🎉")).await;
    let answer = ann1.acked(reply("a-2", conv, helo, "hi ben")).await;
    let back = ann1.acked(unreact("a-3", conv, helo, "👍")).await;
    // Ann owns the room: she deletes Ben's message.
    let gone = ann1.acked(delete("a-4", conv, oops)).await;
    assert!(helo < oops && oops < edited && edited < thumbs && thumbs < party);
    assert!(party < answer && answer < back && back < gone);

    let expected = vec![
        (
            helo,
            EventBody::Message {
                client_msg_id: id("b-1"),
                body: "helo".into(),
                reply_to: None,
            },
        ),
        (
            oops,
            EventBody::Message {
                client_msg_id: id("b-2"),
                body: "oops, wrong room".into(),
                reply_to: None,
            },
        ),
        (
            edited,
            EventBody::Edited {
                target: helo,
                body: "hello".into(),
            },
        ),
        (
            thumbs,
            EventBody::Reacted {
                target: helo,
                emoji: "👍".into(),
            },
        ),
        (
            party,
            EventBody::Reacted {
                target: helo,
                emoji: "🎉".into(),
            },
        ),
        (
            answer,
            EventBody::Message {
                client_msg_id: id("a-2"),
                body: "hi ben".into(),
                reply_to: Some(helo),
            },
        ),
        (
            back,
            EventBody::Unreacted {
                target: helo,
                emoji: "👍".into(),
            },
        ),
        (gone, EventBody::Deleted { target: oops }),
    ];
    // Live: the same events in the same order on both users' other devices, each once.
    for device in [&mut ann2, &mut ben2] {
        let got: Vec<(Seq, EventBody)> = events_until(device, conv, gone)
            .await
            .into_iter()
            .map(|e| (e.seq, e.body))
            .collect();
        assert_eq!(got, expected);
    }

    // A device resuming from before them gets them replayed in the same order — with the
    // deleted message as a tombstone, never its text.
    let (_, replay) = server.device(&ben, vec![Cursor { conv, seq: start }]).await;
    let replayed: Vec<(Seq, EventBody)> = events_of(&replay, conv)
        .into_iter()
        .map(|e| (e.seq, e.body))
        .collect();
    let mut tombstoned = expected.clone();
    tombstoned[1].1 = EventBody::Tombstone { target: None };
    assert_eq!(replayed, tombstoned);
    // A new device (no cursor) and a history page show the same.
    let (mut fresh, first) = server.device(&ben, vec![]).await;
    let recent: Vec<(Seq, EventBody)> = events_of(&first, conv)
        .into_iter()
        .filter(|e| e.seq > start)
        .map(|e| (e.seq, e.body))
        .collect();
    assert_eq!(recent, tombstoned);
    let before = gone.next();
    fresh
        .send_text(&format!(
            r#"{{"type":"history","conv":{conv},"before":{before},"limit":100}}"#
        ))
        .await;
    let page = fresh
        .until(|f| matches!(f, ServerFrame::History { .. }))
        .await;
    let text = format!("{:?}", page.last());
    assert!(
        text.contains("Tombstone") && !text.contains("wrong room"),
        "{text}"
    );
}

#[tokio::test]
async fn each_refusal_is_typed_and_stores_nothing() {
    let server = TestServer::start_with(|c| c.edit_window = Duration::from_secs(3600)).await;
    let (mut ann, _ann2, mut ben, conv, _, _) = lobby(&server).await;
    let hers = ann.post(conv, "a-1", "ann's").await;
    let his = ben.post(conv, "b-1", "ben's").await;
    // Ann owns the room, and still cannot edit Ben's message.
    assert_eq!(
        refused(&mut ann, edit("a-2", conv, his, "owners cannot edit")).await,
        ErrorCode::Forbidden
    );
    // A conversation Ben is not in: its events are not his to touch, or to learn about.
    let other = room(&mut ann, "other", false).await;
    let elsewhere = ann.post(other, "a-p", "private").await;
    let cases = [
        (react("b-0", other, elsewhere, "👍"), ErrorCode::Forbidden),
        (edit("b-2", conv, hers, "mine now"), ErrorCode::Forbidden),
        (delete("b-3", conv, hers), ErrorCode::Forbidden),
        (edit("b-4", conv, Seq(1), "x"), ErrorCode::NotAMessage),
        (react("b-5", conv, Seq(999), "👍"), ErrorCode::NotFound),
        (
            react("b-6", ConvId(9999), Seq(1), "👍"),
            ErrorCode::NotFound,
        ),
        (react("b-7", conv, his, "ok"), ErrorCode::InvalidRequest),
        (react("b-8", conv, his, "👍👍"), ErrorCode::InvalidRequest),
        (edit("b-9", conv, his, "   "), ErrorCode::InvalidRequest),
        (
            reply("b-10", conv, Seq(2), "to a join"),
            ErrorCode::NotAMessage,
        ),
        (
            reply("b-11", conv, Seq(999), "to nothing"),
            ErrorCode::NotFound,
        ),
    ];
    for (frame, code) in cases {
        assert_eq!(refused(&mut ben, frame.clone()).await, code, "{frame:?}");
    }
    ben.acked(delete("b-12", conv, his)).await;
    assert_eq!(
        refused(&mut ben, delete("b-13", conv, his)).await,
        ErrorCode::MessageDeleted
    );
    assert_eq!(
        refused(&mut ann, react("a-3", conv, his, "👍")).await,
        ErrorCode::MessageDeleted
    );
    assert_eq!(
        refused(&mut ann, reply("a-4", conv, his, "re")).await,
        ErrorCode::MessageDeleted
    );
    // Reacting in a room you left.
    ben.send(&ClientFrame::Leave { conv }).await;
    ben.until(|f| matches!(f, ServerFrame::Gone { .. })).await;
    assert_eq!(
        refused(&mut ben, react("b-14", conv, hers, "👍")).await,
        ErrorCode::Forbidden
    );
    // Nothing above took a seq: the next event is right after the deletion and Ben's leaving.
    let next = ann.post(conv, "a-5", "still here").await;
    assert_eq!(next, his.next().next().next());
}

#[tokio::test]
async fn edits_past_the_window_are_refused_and_the_action_budget_is_per_user() {
    let server = TestServer::start_with(|c| {
        c.edit_window = Duration::ZERO;
        c.actions_per_second = 1;
    })
    .await;
    let (mut ann, _ann2, _ben, conv, _, _) = lobby(&server).await;
    let hers = ann.post(conv, "a-1", "typo").await;
    assert_eq!(
        refused(&mut ann, edit("a-2", conv, hers, "fixed")).await,
        ErrorCode::EditWindowClosed
    );
    // A burst of two a second: the refused edit was one, this reaction the other, the next waits.
    ann.acked(react("a-3", conv, hers, "👀")).await;
    let frame = react("a-4", conv, hers, "🎉");
    ann.send(&frame).await;
    let error = ann.until(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(
        matches!(error.last(), Some(ServerFrame::Error { code: ErrorCode::RateLimited, retry_after_ms: Some(ms), .. }) if *ms > 0),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_retried_action_is_stored_once_and_a_repeat_reaction_is_a_no_op() {
    let server = TestServer::start().await;
    let (mut ann, mut ann2, mut ben, conv, _, _) = lobby(&server).await;
    let hello = ben.post(conv, "b-1", "hello").await;
    let first = ann.acked(react("a-1", conv, hello, "👍")).await;
    assert_eq!(
        ann.acked(react("a-1", conv, hello, "👍")).await,
        first,
        "the retry"
    );
    assert_eq!(
        ann.acked(react("a-2", conv, hello, "👍")).await,
        Seq(0),
        "no change"
    );
    assert_eq!(
        ann.acked(unreact("a-3", conv, Seq(hello.0), "🎉")).await,
        Seq(0)
    );
    let fixed = ben.acked(edit("b-2", conv, hello, "hello!")).await;
    assert_eq!(ben.acked(edit("b-2", conv, hello, "hello!")).await, fixed);
    // Ann's other device saw each stored event once, and nothing for the retries.
    let seen = events_until(&mut ann2, conv, fixed).await;
    let seqs: Vec<Seq> = seen.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [hello, first, fixed]);
    ann2.send(&ClientFrame::Ping { nonce: 3 }).await;
    assert_eq!(ann2.next().await, ServerFrame::Pong { nonce: 3 });
}

/// Whether `needle` occurs in the file at `path` (absent: no).
fn file_holds(path: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}

#[tokio::test]
async fn a_deleted_text_leaves_the_sqlite_file_and_its_wal() {
    let server = TestServer::start().await;
    let db = server.state.config.database_path.clone();
    let wal = db.with_extension("db-wal");
    let (mut ann, _ann2, mut ben, conv, _, _) = lobby(&server).await;
    const SECRET: &str = "quokka-7f3e-the-door-code-is-4711";
    let said = ben.post(conv, "b-1", SECRET).await;
    ben.acked(edit("b-2", conv, said, &format!("{SECRET} (edited)")))
        .await;
    ann.acked(react("a-1", conv, said, "🔒")).await;
    // The grep can see it: it is in the log or the file until deleted.
    let holds = || file_holds(&db, SECRET.as_bytes()) || file_holds(&wal, SECRET.as_bytes());
    assert!(holds(), "the text is stored before the deletion");
    ben.acked(delete("b-3", conv, said)).await;
    // The checkpoint after a deletion truncates the log: wait for it, generously.
    let deadline = Instant::now() + Duration::from_secs(60);
    while holds() {
        assert!(
            Instant::now() < deadline,
            "the deleted text is still in {db:?} or its WAL"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And the server still works on the same file.
    let after = ben.post(conv, "b-4", "after").await;
    assert!(after > said);
    assert!(!holds());
}

#[tokio::test]
async fn a_reader_holding_the_log_does_not_stall_messages_after_a_deletion() {
    use sqlx::Connection;
    let server = TestServer::start().await;
    let db = server.state.config.database_path.clone();
    let (_ann, _ann2, mut ben, conv, _, _) = lobby(&server).await;
    let said = ben.post(conv, "b-1", "soon gone").await;
    // Another process's reader holds a snapshot from before the deletion: the truncating
    // checkpoint cannot finish while it is open, and new writers would queue behind it.
    let url = format!("sqlite://{}", db.display());
    let mut reader = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    ben.acked(delete("b-2", conv, said)).await;
    // Messages keep flowing for several checkpoint ticks. Before the truncation's wait was
    // bounded, each tick held every writer for the pool's busy timeout (5 s).
    let mut slowest = Duration::ZERO;
    let until = Instant::now() + Duration::from_secs(3);
    let mut n = 0;
    while Instant::now() < until {
        n += 1;
        let start = Instant::now();
        ben.post(conv, &format!("b-{}", n + 2), "still here").await;
        slowest = slowest.max(start.elapsed());
        // A person's pace, well inside the message rate limit.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        slowest < Duration::from_millis(4000),
        "a message waited {slowest:?} behind the checkpoint"
    );
    sqlx::query("ROLLBACK").execute(&mut reader).await.unwrap();
    reader.close().await.unwrap();
    // With the reader gone, the truncation finishes and the text leaves the file.
    let wal = db.with_extension("db-wal");
    let deadline = Instant::now() + Duration::from_secs(60);
    while file_holds(&db, b"soon gone") || file_holds(&wal, b"soon gone") {
        assert!(Instant::now() < deadline, "the deleted text stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
