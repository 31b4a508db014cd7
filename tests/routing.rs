//! Message routing against the real server: order, durability, exactly-once delivery, resume,
//! rooms and direct pairs, presence, typing, read state, and every refusal.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{Device, TestServer, messages, next_close_code, room};
use switchboard::protocol::{
    ClientFrame, ClientMsgId, ConvId, Cursor, ErrorCode, EventBody, Seq, ServerFrame, close_code,
};

/// Opens the direct conversation of `a` with `b` and returns its id (as `a` sees it).
async fn direct(a: &mut Device, b: switchboard::protocol::UserId) -> ConvId {
    a.send(&ClientFrame::OpenDirect { user: b }).await;
    a.conversation().await
}

/// Reads frames until `n` message events of `conv` have arrived; returns their (seq, body).
async fn collect(device: &mut Device, conv: ConvId, n: usize) -> Vec<(i64, String)> {
    let mut got = Vec::new();
    while got.len() < n {
        let frame = device.next().await;
        got.extend(messages(std::slice::from_ref(&frame), conv));
    }
    got
}

#[tokio::test]
async fn a_direct_message_reaches_both_devices_of_both_users_once_in_order() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (ben, ben_id) = server.user("ben").await;
    let (mut ann1, _) = server.device(&ann, vec![]).await;
    let (mut ann2, _) = server.device(&ann, vec![]).await;
    let (mut ben1, _) = server.device(&ben, vec![]).await;
    let (mut ben2, _) = server.device(&ben, vec![]).await;

    let conv = direct(&mut ann1, ben_id).await;
    for device in [&mut ann2, &mut ben1, &mut ben2] {
        assert_eq!(device.conversation().await, conv);
    }
    for i in 0..10 {
        ann1.send(&ClientFrame::Send {
            client_msg_id: ClientMsgId(format!("m{i}")),
            conv,
            body: format!("hello {i}"),
            reply_to: None,
        })
        .await;
    }
    let expected: Vec<(i64, String)> = (0..10).map(|i| (i + 1, format!("hello {i}"))).collect();
    // The sending device gets an ack per message, in order, and the messages themselves.
    let mut acks = Vec::new();
    let mut own = Vec::new();
    while acks.len() < 10 || own.len() < 10 {
        match ann1.next().await {
            ServerFrame::Ack { seq, .. } => acks.push(seq.0),
            frame => own.extend(messages(&[frame], conv)),
        }
    }
    assert_eq!(acks, (1..=10).collect::<Vec<_>>());
    assert_eq!(own, expected);
    for device in [&mut ann2, &mut ben1, &mut ben2] {
        assert_eq!(collect(device, conv, 10).await, expected);
    }
    // Nothing more: a ping comes back before any duplicate could.
    for device in [&mut ann1, &mut ann2, &mut ben1, &mut ben2] {
        device.send(&ClientFrame::Ping { nonce: 7 }).await;
        assert_eq!(device.next().await, ServerFrame::Pong { nonce: 7 });
    }
}

#[tokio::test]
async fn a_room_fans_out_to_50_members() {
    let server = TestServer::start().await;
    let (owner_cookie, _) = server.user("owner").await;
    let (mut owner, _) = server.device(&owner_cookie, vec![]).await;
    let conv = room(&mut owner, "fifty", true).await;
    let mut members = Vec::new();
    for i in 0..49 {
        let (cookie, _) = server.user(&format!("member{i}")).await;
        let (mut device, _) = server.device(&cookie, vec![]).await;
        device.send(&ClientFrame::JoinRoom { conv }).await;
        assert_eq!(device.conversation().await, conv);
        members.push(device);
    }
    let started = Instant::now();
    for i in 0..5 {
        owner
            .post(conv, &format!("r{i}"), &format!("to all {i}"))
            .await;
    }
    for device in &mut members {
        let got = collect(device, conv, 5).await;
        assert_eq!(
            got.iter().map(|(_, b)| b.as_str()).collect::<Vec<_>>(),
            ["to all 0", "to all 1", "to all 2", "to all 3", "to all 4"]
        );
    }
    eprintln!(
        "room of 50: 5 messages × 50 members delivered in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn concurrent_senders_produce_one_order_that_everyone_sees() {
    const SENDERS: usize = 20;
    const EACH: usize = 100;
    let server = TestServer::start_with(|c| {
        c.messages_per_second = 10_000;
    })
    .await;
    let (owner_cookie, _) = server.user("host").await;
    let (mut observer, _) = server.device(&owner_cookie, vec![]).await;
    let conv = room(&mut observer, "busy", true).await;
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let (cookie, _) = server.user(&format!("sender{i}")).await;
        let (mut device, _) = server.device(&cookie, vec![]).await;
        device.send(&ClientFrame::JoinRoom { conv }).await;
        device.conversation().await;
        senders.push(device);
    }
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, mut device)| {
            tokio::spawn(async move {
                for n in 0..EACH {
                    device
                        .send(&ClientFrame::Send {
                            client_msg_id: ClientMsgId(format!("s{i}-{n}")),
                            conv,
                            body: format!("{i}:{n}"),
                            reply_to: None,
                        })
                        .await;
                }
                // Read until this sender has seen every message from everyone.
                let mut seen = Vec::new();
                while seen.len() < SENDERS * EACH {
                    let frame = device.next().await;
                    if let ServerFrame::Error { code, message, .. } = &frame {
                        panic!("sender {i}: {code:?} {message}");
                    }
                    seen.extend(messages(std::slice::from_ref(&frame), conv));
                }
                seen
            })
        })
        .collect();
    let observed = collect(&mut observer, conv, SENDERS * EACH).await;
    let elapsed = started.elapsed();
    for task in tasks {
        assert_eq!(
            task.await.unwrap(),
            observed,
            "every receiver sees the same order"
        );
    }
    // …and it is the store's order: seqs are contiguous after the room's join events, and
    // each sender's own messages keep the order it sent them in.
    let seqs: Vec<i64> = observed.iter().map(|(s, _)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "contiguous seqs");
    for i in 0..SENDERS {
        let mine: Vec<usize> = observed
            .iter()
            .filter_map(|(_, b)| b.strip_prefix(&format!("{i}:")).map(|n| n.parse().unwrap()))
            .collect();
        assert_eq!(mine, (0..EACH).collect::<Vec<_>>());
    }
    observer
        .send(&ClientFrame::History {
            conv,
            before: Seq(seqs[seqs.len() - 1] + 1),
            limit: 100,
        })
        .await;
    let history = observer
        .until(|f| matches!(f, ServerFrame::History { .. }))
        .await;
    if let Some(ServerFrame::History { events, .. }) = history.last() {
        let stored: Vec<i64> = events.iter().map(|e| e.seq.0).collect();
        assert_eq!(stored, seqs[seqs.len() - 100..]);
    }
    eprintln!(
        "{SENDERS} senders × {EACH} messages: {} deliveries to {} receivers in {elapsed:?}",
        SENDERS * EACH * (SENDERS + 1),
        SENDERS + 1
    );
}

#[tokio::test]
async fn a_retried_send_is_stored_once_with_the_same_seq() {
    let server = TestServer::start().await;
    let (cookie, _) = server.user("retrier").await;
    let (peer_cookie, peer_id) = server.user("peer").await;
    let (mut device, _) = server.device(&cookie, vec![]).await;
    let (mut peer, _) = server.device(&peer_cookie, vec![]).await;
    let conv = direct(&mut device, peer_id).await;
    peer.conversation().await;
    let first = device.post(conv, "same-id", "only once").await;
    for _ in 0..3 {
        assert_eq!(device.post(conv, "same-id", "only once").await, first);
    }
    let next = device.post(conv, "other-id", "second").await;
    assert_eq!(next, first.next(), "no seq was spent on the retries");
    assert_eq!(
        collect(&mut peer, conv, 2).await,
        [(1, "only once".to_owned()), (2, "second".to_owned())]
    );
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_what_it_missed() {
    // The sender writes 500 messages before reading its acks (its queue's byte budget holds
    // them easily).
    let server = TestServer::start_with(|c| {
        c.messages_per_second = 100_000;
    })
    .await;
    let (sender_cookie, _) = server.user("talker").await;
    let (listener_cookie, listener_id) = server.user("listener").await;
    let (mut sender, _) = server.device(&sender_cookie, vec![]).await;
    let (mut listener, _) = server.device(&listener_cookie, vec![]).await;
    let conv = direct(&mut sender, listener_id).await;
    listener.conversation().await;
    sender.post(conv, "before", "seen live").await;
    assert_eq!(
        collect(&mut listener, conv, 1).await,
        [(1, "seen live".to_owned())]
    );
    drop(listener);

    for i in 0..500 {
        sender
            .send(&ClientFrame::Send {
                client_msg_id: ClientMsgId(format!("missed{i}")),
                conv,
                body: format!("missed {i}"),
                reply_to: None,
            })
            .await;
    }
    sender
        .until(|f| matches!(f, ServerFrame::Ack { seq, .. } if *seq == Seq(501)))
        .await;

    let started = Instant::now();
    let (mut back, replay) = server
        .device(&listener_cookie, vec![Cursor { conv, seq: Seq(1) }])
        .await;
    let elapsed = started.elapsed();
    let expected: Vec<(i64, String)> = (0..500).map(|i| (i + 2, format!("missed {i}"))).collect();
    assert_eq!(messages(&replay, conv), expected);
    eprintln!("resume of 500 missed messages took {elapsed:?}");

    // The seam: the next live message follows with no gap and no duplicate.
    sender.post(conv, "after", "live again").await;
    assert_eq!(
        collect(&mut back, conv, 1).await,
        [(502, "live again".to_owned())]
    );
}

#[tokio::test]
async fn an_offline_user_gets_everything_and_a_new_device_gets_recent_history() {
    // 120 sends back to back: more than the default per-user rate, which is not under test here.
    let server = TestServer::start_with(|c| c.messages_per_second = 10_000).await;
    let (sender_cookie, _) = server.user("early").await;
    let (late_cookie, late_id) = server.user("late").await;
    let (mut sender, _) = server.device(&sender_cookie, vec![]).await;
    let conv = direct(&mut sender, late_id).await;
    for i in 0..120 {
        sender
            .post(conv, &format!("o{i}"), &format!("offline {i}"))
            .await;
    }
    // A device that knows the conversation (cursor 0) gets all 120.
    let (_, replay) = server
        .device(&late_cookie, vec![Cursor { conv, seq: Seq(0) }])
        .await;
    assert_eq!(messages(&replay, conv).len(), 120);
    // A brand-new device is told about the conversation, with the latest 50…
    let (mut fresh, replay) = server.device(&late_cookie, vec![]).await;
    assert!(replay.iter().any(
        |f| matches!(f, ServerFrame::Conversation(c) if c.id == conv && c.last_seq == Seq(120))
    ));
    let recent = messages(&replay, conv);
    assert_eq!(recent.first().map(|m| m.0), Some(71));
    assert_eq!(recent.len(), 50);
    // …and scrolls back for the rest.
    fresh
        .send(&ClientFrame::History {
            conv,
            before: Seq(71),
            limit: 100,
        })
        .await;
    match fresh
        .until(|f| matches!(f, ServerFrame::History { .. }))
        .await
        .pop()
    {
        Some(ServerFrame::History { events, more, .. }) => {
            assert_eq!(events.len(), 70);
            assert_eq!(events[0].seq, Seq(1));
            assert!(!more);
        }
        other => panic!("expected history, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_that_never_reads_is_evicted_and_resumes_with_nothing_lost() {
    let server = TestServer::start_with(|c| {
        c.outbound_bytes = 1 << 20;
        c.messages_per_second = 100_000;
    })
    .await;
    let (a, _) = server.user("fast").await;
    let (b, _) = server.user("sleepy").await;
    let (c, _) = server.user("steady").await;
    let (mut sender, _) = server.device(&a, vec![]).await;
    let conv = room(&mut sender, "firehose", true).await;
    let (mut sleepy, _) = server.device(&b, vec![]).await;
    sleepy.send(&ClientFrame::JoinRoom { conv }).await;
    sleepy.conversation().await;
    let (mut steady, _) = server.device(&c, vec![]).await;
    steady.send(&ClientFrame::JoinRoom { conv }).await;
    steady.conversation().await;
    let joined_seq = 3;

    // Enough bytes (20 MB) to fill the sleepy client's socket buffers and then its queue.
    const N: usize = 5000;
    let body = "x".repeat(4000);
    let (mut sink, mut stream) = futures::StreamExt::split(sender.ws);
    // At most 256 sends awaiting their ack, as a well-behaved client keeps it: its own queue
    // (acks and echoes) then stays far below the limit, however fast the server commits.
    let window = std::sync::Arc::new(tokio::sync::Semaphore::new(256));
    let acked = std::sync::Arc::clone(&window);
    let sending = tokio::spawn(async move {
        use futures::SinkExt;
        for i in 0..N {
            window.acquire().await.unwrap().forget();
            let frame = ClientFrame::Send {
                client_msg_id: ClientMsgId(format!("f{i}")),
                conv,
                body: body.clone(),
                reply_to: None,
            };
            sink.send(tokio_tungstenite::tungstenite::Message::text(
                switchboard::protocol::encode_client(&frame),
            ))
            .await
            .unwrap();
        }
        sink
    });
    // The sender reads its acks and echoes as they come, like any healthy client.
    let draining = tokio::spawn(async move {
        let mut acks = 0;
        while acks < N {
            match futures::StreamExt::next(&mut stream).await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                    match switchboard::protocol::decode_server(text.as_str()).unwrap() {
                        ServerFrame::Ack { .. } => {
                            acks += 1;
                            acked.add_permits(1);
                        }
                        ServerFrame::Error { code, message, .. } => panic!("{code:?} {message}"),
                        _ => {}
                    }
                }
                other => panic!("sender's socket: {other:?}"),
            }
        }
    });
    // The steady client keeps receiving the whole time.
    let got = collect(&mut steady, conv, N).await;
    assert_eq!(got.len(), N);
    let _sink = sending.await.unwrap();
    draining.await.unwrap();

    // The sleepy one now reads: some events, then the eviction: close 4008, or the connection
    // ending when not even the close frame found room in its socket before the server gave up.
    let mut last = joined_seq;
    let code = loop {
        match tokio::time::timeout(
            Duration::from_secs(10),
            futures::StreamExt::next(&mut sleepy.ws),
        )
        .await
        .expect("evicted within 10 s")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                if let Ok(ServerFrame::Event(e)) =
                    switchboard::protocol::decode_server(text.as_str())
                {
                    last = e.seq.0;
                }
            }
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                break u16::from(frame.code);
            }
            Some(Err(_)) | None => break close_code::TOO_SLOW,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, close_code::TOO_SLOW);
    assert!(
        last < (joined_seq + N as i64),
        "it was evicted before catching up"
    );
    let (_, replay) = server
        .device(
            &b,
            vec![Cursor {
                conv,
                seq: Seq(last),
            }],
        )
        .await;
    let resumed = messages(&replay, conv);
    assert_eq!(resumed.len() as i64, joined_seq + N as i64 - last);
    assert_eq!(resumed.last().map(|m| m.0), Some(joined_seq + N as i64));
}

#[tokio::test]
async fn rooms_follow_their_membership_rules() {
    let server = TestServer::start().await;
    let (o, _) = server.user("roomowner").await;
    let (m, m_id) = server.user("roommember").await;
    let (x, x_id) = server.user("outsider").await;
    let (mut owner, _) = server.device(&o, vec![]).await;
    let (mut member, _) = server.device(&m, vec![]).await;
    let (mut outsider, _) = server.device(&x, vec![]).await;

    let public = room(&mut owner, "lobby", true).await;
    let private = room(&mut owner, "secret", false).await;
    outsider
        .send(&ClientFrame::ListRooms {
            query: None,
            after: None,
            limit: None,
        })
        .await;
    match outsider
        .until(|f| matches!(f, ServerFrame::Rooms { .. }))
        .await
        .pop()
    {
        Some(ServerFrame::Rooms { rooms, .. }) => {
            assert!(rooms.iter().any(|r| r.id == public));
            assert!(
                !rooms.iter().any(|r| r.id == private),
                "private rooms are not listed"
            );
        }
        other => panic!("{other:?}"),
    }
    // Outsiders cannot join, read, post to, or list the members of a private room.
    outsider
        .send(&ClientFrame::JoinRoom { conv: private })
        .await;
    assert_eq!(outsider.error().await.0, ErrorCode::Forbidden);
    outsider
        .send(&ClientFrame::History {
            conv: private,
            before: Seq(99),
            limit: 10,
        })
        .await;
    assert_eq!(outsider.error().await.0, ErrorCode::Forbidden);
    outsider.send(&ClientFrame::Members { conv: private }).await;
    assert_eq!(outsider.error().await.0, ErrorCode::Forbidden);
    outsider
        .send(&ClientFrame::Send {
            client_msg_id: ClientMsgId("sneak".into()),
            conv: private,
            body: "let me in".into(),
            reply_to: None,
        })
        .await;
    assert_eq!(
        outsider.error().await,
        (ErrorCode::Forbidden, Some(ClientMsgId("sneak".into())))
    );
    outsider
        .send(&ClientFrame::Invite {
            conv: private,
            user: x_id,
        })
        .await;
    assert_eq!(outsider.error().await.0, ErrorCode::Forbidden);
    outsider
        .send(&ClientFrame::Send {
            client_msg_id: ClientMsgId("ghost".into()),
            conv: ConvId(9999),
            body: "anyone?".into(),
            reply_to: None,
        })
        .await;
    assert_eq!(
        outsider.error().await,
        (ErrorCode::NotFound, Some(ClientMsgId("ghost".into())))
    );

    // The owner invites; the invitee is told, accepts, and learns of the room; everyone sees
    // the event.
    owner
        .send(&ClientFrame::Invite {
            conv: private,
            user: m_id,
        })
        .await;
    let told = member
        .until(|f| matches!(f, ServerFrame::Invitation(_)))
        .await;
    assert!(
        !told
            .iter()
            .any(|f| matches!(f, ServerFrame::Conversation(_))),
        "an invitation is not a membership: {told:?}"
    );
    member.send(&ClientFrame::Accept { conv: private }).await;
    assert_eq!(member.conversation().await, private);
    member.send(&ClientFrame::Members { conv: private }).await;
    match member
        .until(|f| matches!(f, ServerFrame::Members { .. }))
        .await
        .pop()
    {
        Some(ServerFrame::Members { members, .. }) => {
            assert_eq!(members.len(), 2);
            assert!(members.iter().all(|m| m.online));
        }
        other => panic!("{other:?}"),
    }
    // Only the owner removes; a removed member hears it and is gone.
    member
        .send(&ClientFrame::Remove {
            conv: private,
            user: m_id,
        })
        .await;
    assert_eq!(member.error().await.0, ErrorCode::Forbidden);
    owner
        .send(&ClientFrame::Remove {
            conv: private,
            user: m_id,
        })
        .await;
    let frames = member
        .until(|f| matches!(f, ServerFrame::Gone { .. }))
        .await;
    assert!(frames.iter().any(
        |f| matches!(f, ServerFrame::Event(e) if e.body == EventBody::Removed { user: m_id })
    ));
    member
        .send(&ClientFrame::Send {
            client_msg_id: ClientMsgId("after-removal".into()),
            conv: private,
            body: "still here?".into(),
            reply_to: None,
        })
        .await;
    assert_eq!(member.error().await.0, ErrorCode::Forbidden);

    // Only the owner renames; the new name is an event every member sees.
    outsider
        .send(&ClientFrame::RenameRoom {
            conv: public,
            name: "hijacked".into(),
        })
        .await;
    assert_eq!(outsider.error().await.0, ErrorCode::Forbidden);
    owner
        .send(&ClientFrame::RenameRoom {
            conv: public,
            name: "  lounge ".into(),
        })
        .await;
    owner
        .until(|f| matches!(f, ServerFrame::Event(e) if e.body == EventBody::Renamed { name: "lounge".into() }))
        .await;

    // Joining a public room and leaving it are events in the room's sequence.
    outsider.send(&ClientFrame::JoinRoom { conv: public }).await;
    let summary = loop {
        if let ServerFrame::Conversation(summary) = outsider.next().await {
            break summary;
        }
    };
    assert_eq!((summary.id, summary.name.as_str()), (public, "lounge"));
    outsider.send(&ClientFrame::Leave { conv: public }).await;
    let frames = outsider
        .until(|f| matches!(f, ServerFrame::Gone { .. }))
        .await;
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, ServerFrame::Event(e) if e.body == EventBody::Left {}))
    );
    let seen = owner
        .until(|f| matches!(f, ServerFrame::Event(e) if e.conv == public && e.body == EventBody::Left {}))
        .await;
    assert!(
        seen.iter()
            .any(|f| matches!(f, ServerFrame::Event(e) if e.body == EventBody::Joined {}))
    );
}

#[tokio::test]
async fn bad_frames_get_typed_errors_naming_the_message_and_the_socket_survives() {
    let server = TestServer::start_with(|c| c.messages_per_second = 5).await;
    let (a, _) = server.user("badinput").await;
    let (b, b_id) = server.user("other").await;
    let (mut device, _) = server.device(&a, vec![]).await;
    let _peer = server.device(&b, vec![]).await;
    let conv = direct(&mut device, b_id).await;
    let long = "y".repeat(4001);
    for (frame, code) in [
        (
            format!(r#"{{"type":"send","client_msg_id":"e1","conv":{conv},"body":""}}"#),
            ErrorCode::InvalidRequest,
        ),
        (
            format!(r#"{{"type":"send","client_msg_id":"e2","conv":{conv},"body":"   "}}"#),
            ErrorCode::InvalidRequest,
        ),
        (
            format!(r#"{{"type":"send","client_msg_id":"e3","conv":{conv},"body":"{long}"}}"#),
            ErrorCode::InvalidRequest,
        ),
        (
            format!(r#"{{"type":"send","client_msg_id":"","conv":{conv},"body":"x"}}"#),
            ErrorCode::InvalidRequest,
        ),
    ] {
        device.send_text(&frame).await;
        assert_eq!(device.error().await.0, code, "{frame}");
    }
    for (frame, code) in [
        (
            format!(r#"{{"type":"send","client_msg_id":"f","conv":{conv},"body":"x","from":1}}"#),
            ErrorCode::MalformedFrame,
        ),
        (
            r#"{"type":"send","conv":1}"#.to_owned(),
            ErrorCode::MalformedFrame,
        ),
        (
            r#"{"type":"send","client_msg_id":"f","conv":"one","body":"x"}"#.to_owned(),
            ErrorCode::MalformedFrame,
        ),
        (r#"{"type":"resume"}"#.to_owned(), ErrorCode::MalformedFrame),
        (
            r#"{"type":"resume","cursors":[]}"#.to_owned(),
            ErrorCode::InvalidRequest,
        ),
        (r#"{"type":"fly"}"#.to_owned(), ErrorCode::UnknownFrameType),
        (
            format!(r#"{{"type":"read","conv":{conv},"seq":999}}"#),
            ErrorCode::InvalidRequest,
        ),
        (
            r#"{"type":"create_room","name":"","public":true}"#.to_owned(),
            ErrorCode::InvalidRequest,
        ),
        (
            r#"{"type":"open_direct","user":424242}"#.to_owned(),
            ErrorCode::NotFound,
        ),
    ] {
        device.send_text(&frame).await;
        assert_eq!(device.error().await.0, code, "{frame}");
    }
    // A flood beyond the per-user rate: refusals name each refused message; nothing is lost
    // silently (every send gets an ack or an error).
    for i in 0..20 {
        device
            .send(&ClientFrame::Send {
                client_msg_id: ClientMsgId(format!("flood{i}")),
                conv,
                body: "spam".into(),
                reply_to: None,
            })
            .await;
    }
    let (mut acked, mut refused) = (0, 0);
    while acked + refused < 20 {
        match device.next().await {
            ServerFrame::Ack { .. } => acked += 1,
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                client_msg_id: Some(_),
                ..
            } => refused += 1,
            _ => {}
        }
    }
    assert!(
        refused > 0 && acked >= 5,
        "acked {acked}, refused {refused}"
    );
    device.send(&ClientFrame::Ping { nonce: 3 }).await;
    device.until(|f| *f == ServerFrame::Pong { nonce: 3 }).await;
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    use futures::SinkExt;
    let server = TestServer::start().await;
    let (cookie, _) = server.user("utf").await;
    let (mut device, _) = server.device(&cookie, vec![]).await;
    let bad = tokio_tungstenite::tungstenite::Message::Frame(
        tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
            vec![0x7b, 0xff, 0xfe, 0x7d],
            tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
                tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
            ),
            true,
        ),
    );
    device.ws.send(bad).await.unwrap();
    assert_eq!(
        next_close_code(&mut device.ws).await,
        close_code::INVALID_PAYLOAD
    );
}

#[tokio::test]
async fn presence_is_per_user_edges_typing_is_relayed_and_reads_reach_other_devices() {
    let server = TestServer::start().await;
    let (a, _) = server.user("watcher").await;
    let (b, b_id) = server.user("multitab").await;
    let (mut watcher, _) = server.device(&a, vec![]).await;
    let conv = direct(&mut watcher, b_id).await;
    watcher.post(conv, "p1", "hi").await;

    let presence = |online: bool| move |f: &ServerFrame| matches!(f, ServerFrame::Presence { user, online: o } if *user == b_id && *o == online);
    let (mut tab1, _) = server.device(&b, vec![Cursor { conv, seq: Seq(1) }]).await;
    let online = watch(&mut watcher, presence(true)).await;
    assert_eq!(online, 1);
    let (mut tab2, _) = server.device(&b, vec![Cursor { conv, seq: Seq(1) }]).await;
    assert_eq!(
        watch(&mut watcher, presence(true)).await,
        0,
        "one edge per user, not per tab"
    );

    tab1.send(&ClientFrame::Typing { conv }).await;
    let typing = watch_any(
        &mut watcher,
        |f| matches!(f, ServerFrame::Typing { user, .. } if *user == b_id),
    )
    .await;
    assert!(typing);

    tab1.send(&ClientFrame::Read { conv, seq: Seq(1) }).await;
    let read = tab2
        .until(|f| matches!(f, ServerFrame::ReadState { .. }))
        .await;
    assert!(matches!(
        read.last(),
        Some(ServerFrame::ReadState { seq: Seq(1), .. })
    ));

    drop(tab1);
    // A second tab is still open: no offline edge.
    assert_eq!(watch(&mut watcher, presence(false)).await, 0);
    drop(tab2);
    let offline = watch_any(&mut watcher, presence(false)).await;
    assert!(offline);
}

/// Counts frames matching `f` that arrive within half a second.
async fn watch(device: &mut Device, f: impl Fn(&ServerFrame) -> bool) -> usize {
    let mut n = 0;
    let deadline = Instant::now() + Duration::from_millis(500);
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout_at(deadline.into(), futures::StreamExt::next(&mut device.ws)).await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message
            && f(&switchboard::protocol::decode_server(text.as_str()).unwrap())
        {
            n += 1;
        }
    }
    n
}

/// Whether a frame matching `f` arrives within five seconds.
async fn watch_any(device: &mut Device, f: impl Fn(&ServerFrame) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout_at(deadline.into(), futures::StreamExt::next(&mut device.ws)).await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message
            && f(&switchboard::protocol::decode_server(text.as_str()).unwrap())
        {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn leaving_and_rejoining_on_one_connection_repeats_nothing() {
    let server = TestServer::start().await;
    let (o, _) = server.user("host2").await;
    let (g, _) = server.user("guest2").await;
    let (mut host, _) = server.device(&o, vec![]).await;
    let conv = room(&mut host, "revolving", true).await;
    let (mut guest, _) = server.device(&g, vec![]).await;
    guest.send(&ClientFrame::JoinRoom { conv }).await;
    let mut seen: Vec<i64> = Vec::new();
    let mut record = |frames: &[ServerFrame]| {
        for frame in frames {
            if let ServerFrame::Event(e) = frame
                && e.conv == conv
            {
                seen.push(e.seq.0);
            }
        }
    };
    record(
        &guest
            .until(|f| matches!(f, ServerFrame::Event(e) if e.body == EventBody::Joined {}))
            .await,
    );
    host.post(conv, "h1", "before leaving").await;
    record(&guest.until(|f| matches!(f, ServerFrame::Event(e) if matches!(e.body, EventBody::Message { .. }))).await);
    guest.send(&ClientFrame::Leave { conv }).await;
    record(&guest.until(|f| matches!(f, ServerFrame::Gone { .. })).await);
    host.post(conv, "h2", "while away").await;
    guest.send(&ClientFrame::JoinRoom { conv }).await;
    record(&guest.until(|f| matches!(f, ServerFrame::Event(e) if e.body == EventBody::Joined {} && e.seq.0 > 4)).await);
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted, seen, "no seq delivered twice: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order: {seen:?}");
}
