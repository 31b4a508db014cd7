//! PROTOCOL.md, *Frames*: request ids (`req`), which frame answers which request, string
//! lengths in code points, and the edges of `history`, `leave` and recent pages.

use super::{reply, until_answer};
use crate::harness::{Device, TestServer, room};
use switchboard::protocol::{
    ClientFrame, ConvId, ErrorCode, Event, EventBody, FrameType, Req, Seq, ServerFrame,
};

/// Tells a request's expected answer.
type IsAnswer = fn(&ServerFrame) -> bool;

/// Sends `json` (a request carrying `"req":"<req>"`) and returns the frames up to its answer,
/// asserting that the answer echoes `req` and nothing before it carries one.
async fn ask(device: &mut Device, json: &str, req: &str) -> (Vec<ServerFrame>, ServerFrame) {
    device.send_text(json).await;
    let mut replies = until_answer(device).await;
    let answer = replies.pop().expect("one answer");
    assert_eq!(answer.req, Some(Req::Text(req.into())), "{json}");
    (replies.into_iter().map(|r| r.frame).collect(), answer.frame)
}

#[tokio::test]
async fn every_request_with_a_req_gets_one_answer_echoing_it() {
    let server = TestServer::start().await;
    let (ann_cookie, _) = server.user("reqann").await;
    let (bob_cookie, bob) = server.user("reqbob").await;
    let (mut ann, _) = server.device(&ann_cookie, vec![]).await;
    let (mut bob_device, _) = server.device(&bob_cookie, vec![]).await;

    let (_, pong) = ask(&mut ann, r#"{"type":"ping","nonce":5,"req":"a"}"#, "a").await;
    assert_eq!(pong, ServerFrame::Pong { nonce: 5 });

    // Room names are trimmed, so a client cannot find its room by name: `req` finds it.
    let (before, done) = ask(
        &mut ann,
        r#"{"type":"create_room","name":"  spaced out  ","public":true,"req":"b"}"#,
        "b",
    )
    .await;
    let ServerFrame::Done { conv } = done else {
        panic!("create_room is answered by done, got {done:?}");
    };
    assert!(
        before.iter().any(
            |f| matches!(f, ServerFrame::Conversation(c) if c.id == conv && c.name == "spaced out")
        ),
        "the conversation comes before the done: {before:?}"
    );

    let send =
        format!(r#"{{"type":"send","client_msg_id":"m1","conv":{conv},"body":"hi","req":"c"}}"#);
    let (_, ack) = ask(&mut ann, &send, "c").await;
    assert!(
        matches!(ack, ServerFrame::Ack { seq: Seq(2), .. }),
        "{ack:?}"
    );

    let answers: Vec<(String, IsAnswer)> = vec![
        (r#"{"type":"list_rooms","req":"d"}"#.into(), |f| {
            matches!(f, ServerFrame::Rooms { .. })
        }),
        (
            format!(r#"{{"type":"members","conv":{conv},"req":"d"}}"#),
            |f| matches!(f, ServerFrame::Members { .. }),
        ),
        (
            format!(r#"{{"type":"history","conv":{conv},"before":9,"limit":5,"req":"d"}}"#),
            |f| matches!(f, ServerFrame::History { .. }),
        ),
        (
            format!(r#"{{"type":"rename_room","conv":{conv},"name":"lounge","req":"d"}}"#),
            |f| matches!(f, ServerFrame::Done { .. }),
        ),
        (
            format!(r#"{{"type":"typing","conv":{conv},"req":"d"}}"#),
            |f| matches!(f, ServerFrame::Done { .. }),
        ),
        (
            format!(r#"{{"type":"read","conv":{conv},"seq":2,"req":"d"}}"#),
            |f| matches!(f, ServerFrame::Done { .. }),
        ),
        (
            format!(r#"{{"type":"block","user":{bob},"req":"d"}}"#),
            |f| matches!(f, ServerFrame::Blocks { .. }),
        ),
        (
            format!(r#"{{"type":"unblock","user":{bob},"req":"d"}}"#),
            |f| matches!(f, ServerFrame::Blocks { .. }),
        ),
        (
            format!(r#"{{"type":"invite","conv":{conv},"user":{bob},"req":"d"}}"#),
            |f| matches!(f, ServerFrame::Done { .. }),
        ),
    ];
    for (json, is_answer) in answers {
        let (_, answer) = ask(&mut ann, &json, "d").await;
        assert!(is_answer(&answer), "{json} answered by {answer:?}");
    }
    // The invitee answers the invitation; then the owner can remove them.
    let accept = format!(r#"{{"type":"accept","conv":{conv},"req":"g"}}"#);
    let (before, accepted) = ask(&mut bob_device, &accept, "g").await;
    assert_eq!(accepted, ServerFrame::Done { conv });
    assert!(
        before
            .iter()
            .any(|f| matches!(f, ServerFrame::Conversation(c) if c.id == conv)),
        "the conversation comes before the done: {before:?}"
    );
    let remove = format!(r#"{{"type":"remove","conv":{conv},"user":{bob},"req":"d"}}"#);
    let (_, removed) = ask(&mut ann, &remove, "d").await;
    assert_eq!(removed, ServerFrame::Done { conv });

    let open = format!(r#"{{"type":"open_direct","user":{},"req":7}}"#, ann.user);
    bob_device.send_text(&open).await;
    let mut replies = until_answer(&mut bob_device).await;
    let answer = replies.pop().unwrap();
    assert_eq!(answer.req, Some(Req::Number(7)));
    let ServerFrame::Done { conv: direct } = answer.frame else {
        panic!("open_direct is answered by done");
    };
    assert!(
        replies
            .iter()
            .any(|r| matches!(&r.frame, ServerFrame::Conversation(c) if c.id == direct))
    );

    let join = format!(r#"{{"type":"join_room","conv":{conv},"req":"e"}}"#);
    let (_, joined) = ask(&mut bob_device, &join, "e").await;
    assert_eq!(joined, ServerFrame::Done { conv });
    let leave = format!(r#"{{"type":"leave","conv":{conv},"req":"f"}}"#);
    let (before, left) = ask(&mut bob_device, &leave, "f").await;
    assert_eq!(left, ServerFrame::Done { conv });
    assert!(before.contains(&ServerFrame::Gone { conv }), "{before:?}");

    // Without a req, nothing changes: no done, no req anywhere.
    ann.send(&ClientFrame::Ping { nonce: 9 }).await;
    let plain = reply(&mut ann).await;
    assert_eq!(plain.req, None);
    assert!(!matches!(plain.frame, ServerFrame::Done { .. }));
}

#[tokio::test]
async fn refusals_echo_the_req_and_fan_out_never_carries_one() {
    let server = TestServer::start().await;
    let (cookie, _) = server.user("reqerr").await;
    let (mut ann, _) = server.device(&cookie, vec![]).await;
    let (mut other_tab, _) = server.device(&cookie, vec![]).await;
    let conv = room(&mut ann, "errs", false).await;
    other_tab.conversation().await;

    let cases = [
        (
            r#"{"type":"members","conv":987654,"req":"x1"}"#.to_owned(),
            ErrorCode::NotFound,
            Some(FrameType::Members),
        ),
        (
            // Malformed, yet the req is still readable: it is echoed.
            r#"{"type":"ping","nonce":"seven","req":"x2"}"#.to_owned(),
            ErrorCode::MalformedFrame,
            None,
        ),
        (
            format!(
                r#"{{"type":"send","client_msg_id":"e1","conv":{conv},"body":"   ","req":"x3"}}"#
            ),
            ErrorCode::InvalidRequest,
            Some(FrameType::Send),
        ),
    ];
    for (json, code, refused) in cases {
        let (_, error) = ask(&mut ann, &json, &json[json.len() - 4..json.len() - 2]).await;
        match error {
            ServerFrame::Error {
                code: c,
                refused: r,
                ..
            } => assert_eq!((c, r), (code, refused), "{json}"),
            other => panic!("{json}: expected an error, got {other:?}"),
        }
    }

    // A req that breaks its own rule is refused and not echoed.
    let long = format!(r#"{{"type":"ping","nonce":1,"req":"{}"}}"#, "r".repeat(65));
    ann.send_text(&long).await;
    let refusal = reply(&mut ann).await;
    assert_eq!(refusal.req, None);
    assert!(matches!(
        refusal.frame,
        ServerFrame::Error {
            code: ErrorCode::InvalidRequest,
            ..
        }
    ));
    ann.send_text(r#"{"type":"ping","nonce":1,"req":1.5}"#)
        .await;
    let refusal = reply(&mut ann).await;
    assert_eq!(refusal.req, None);
    assert!(matches!(
        refusal.frame,
        ServerFrame::Error {
            code: ErrorCode::MalformedFrame,
            ..
        }
    ));

    // The sender's ack echoes its req; the event every member gets (the other tab too) has none.
    let send =
        format!(r#"{{"type":"send","client_msg_id":"f1","conv":{conv},"body":"yo","req":"s"}}"#);
    let (_, ack) = ask(&mut ann, &send, "s").await;
    assert!(matches!(ack, ServerFrame::Ack { .. }));
    loop {
        let copy = reply(&mut other_tab).await;
        assert_eq!(copy.req, None, "fan-out carries no req: {copy:?}");
        if let ServerFrame::Event(Event {
            body: EventBody::Message { .. },
            ..
        }) = copy.frame
        {
            break;
        }
    }
}

/// The message events of `conv` among `frames`.
fn events(frames: &[ServerFrame], conv: ConvId) -> Vec<&Event> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Event(e) if e.conv == conv => Some(e),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn lengths_are_counted_in_unicode_code_points() {
    let server = TestServer::start().await;
    let (cookie, _) = server.user("lengths").await;
    let (mut ann, _) = server.device(&cookie, vec![]).await;
    let conv = room(&mut ann, &"é".repeat(64), false).await;
    // 4000 four-byte characters: 16000 bytes, still one message.
    ann.post(conv, "wide", &"😀".repeat(4000)).await;
    ann.send(&ClientFrame::Send {
        client_msg_id: switchboard::protocol::ClientMsgId("over".into()),
        conv,
        body: "é".repeat(4001),
        reply_to: None,
    })
    .await;
    assert_eq!(ann.error().await.0, ErrorCode::InvalidRequest);
    ann.send(&ClientFrame::CreateRoom {
        name: "é".repeat(65),
        public: false,
    })
    .await;
    assert_eq!(ann.error().await.0, ErrorCode::InvalidRequest);
}

/// Asks for `history` and returns (the events' seqs, `more`).
async fn history(device: &mut Device, conv: ConvId, before: i64, limit: u32) -> (Vec<i64>, bool) {
    device
        .send(&ClientFrame::History {
            conv,
            before: Seq(before),
            limit,
        })
        .await;
    loop {
        if let ServerFrame::History { events, more, .. } = device.next().await {
            return (events.iter().map(|e| e.seq.0).collect(), more);
        }
    }
}

#[tokio::test]
async fn history_clamps_its_limit_and_a_negative_before_is_an_empty_page() {
    let server = TestServer::start_with(|c| c.messages_per_second = 10_000).await;
    let (cookie, _) = server.user("pager").await;
    let (mut ann, _) = server.device(&cookie, vec![]).await;
    let conv = room(&mut ann, "pages", false).await;
    for n in 0..105 {
        ann.post(conv, &format!("h{n}"), "x").await;
    }
    // Seqs 1 (created) to 106.
    let (seqs, more) = history(&mut ann, conv, 1_000, 0).await;
    assert_eq!((seqs, more), (vec![106], true), "limit 0 is one event");
    let (seqs, more) = history(&mut ann, conv, 1_000, 500).await;
    assert_eq!(seqs, (7..=106).collect::<Vec<_>>(), "limit over 100 is 100");
    assert!(more);
    assert_eq!(history(&mut ann, conv, -5, 10).await, (vec![], false));
    assert_eq!(history(&mut ann, conv, 0, 10).await, (vec![], false));
    assert_eq!(history(&mut ann, conv, 3, 10).await, (vec![1, 2], false));
}

#[tokio::test]
async fn joining_while_online_brings_the_latest_fifty_events() {
    let server = TestServer::start_with(|c| c.messages_per_second = 10_000).await;
    let (owner_cookie, _) = server.user("fiftyowner").await;
    let (joiner_cookie, _) = server.user("fiftyjoiner").await;
    let (mut owner, _) = server.device(&owner_cookie, vec![]).await;
    let (mut joiner, _) = server.device(&joiner_cookie, vec![]).await;
    let conv = room(&mut owner, "fifty", true).await;
    for n in 0..60 {
        owner.post(conv, &format!("f{n}"), "x").await;
    }
    // Seqs 1 (created), 2..=61 (messages), 62 (joined).
    let join = format!(r#"{{"type":"join_room","conv":{conv},"req":"j"}}"#);
    let (frames, done) = ask(&mut joiner, &join, "j").await;
    assert_eq!(done, ServerFrame::Done { conv });
    let seqs: Vec<i64> = events(&frames, conv).iter().map(|e| e.seq.0).collect();
    assert_eq!(seqs, (13..=62).collect::<Vec<_>>());
}

#[tokio::test]
async fn leave_on_a_direct_conversation_is_not_found() {
    let server = TestServer::start().await;
    let (a, _) = server.user("leaver").await;
    let (_, b) = server.user("stayer").await;
    let (mut ann, _) = server.device(&a, vec![]).await;
    ann.send(&ClientFrame::OpenDirect { user: b }).await;
    let conv = ann.conversation().await;
    ann.send(&ClientFrame::Leave { conv }).await;
    assert_eq!(ann.error().await.0, ErrorCode::NotFound);
    // Still a member: a message goes through.
    ann.post(conv, "still", "here").await;
}
