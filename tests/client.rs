//! `switchboard::client::Session` against the real server: requests matched to their answers
//! by `req`, typed refusals, the outbox resent on reconnect and stored once, and resume with
//! the tracked cursors bringing nothing twice.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use harness::TestServer;
use switchboard::{
    client::{ClientError, Received, Session, Target},
    protocol::{ClientFrame, ClientMsgId, ConvId, ErrorCode, EventBody, Seq, ServerFrame, UserId},
};

/// Registers `name` and connects a synced session for it: its cookie, id and session.
async fn login(server: &TestServer, name: &str) -> (String, UserId, Session) {
    let (cookie, user) = server.user(name).await;
    let mut session = Session::connect(&browser(server, &cookie)).await.unwrap();
    session.synced().await.unwrap();
    (cookie, user, session)
}

/// Where a browser with `cookie` connects.
fn browser(server: &TestServer, cookie: &str) -> Target {
    Target::new(server.addr.to_string())
        .origin(server.origin())
        .cookie(cookie)
}

/// Everything `session` reads, up to and including the first frame `done` matches.
async fn read_until(session: &mut Session, done: impl Fn(&Received) -> bool) -> Vec<Received> {
    let mut frames = Vec::new();
    loop {
        let received = session.recv().await.unwrap();
        let stop = done(&received);
        frames.push(received);
        if stop {
            return frames;
        }
    }
}

/// The `client_msg_id` of every message event among `frames`.
fn message_ids(frames: &[Received]) -> Vec<String> {
    let id = |r: &Received| {
        let ServerFrame::Event(event) = &r.frame else {
            return None;
        };
        let EventBody::Message { client_msg_id, .. } = &event.body else {
            return None;
        };
        Some(client_msg_id.0.clone())
    };
    frames.iter().filter_map(id).collect()
}

/// Opens the direct conversation with `peer` by a request; returns it.
async fn open_direct(session: &mut Session, peer: UserId) -> ConvId {
    match session
        .request(&ClientFrame::OpenDirect { user: peer })
        .await
    {
        Ok(ServerFrame::Done { conv }) => conv,
        other => panic!("expected done, got {other:?}"),
    }
}

#[tokio::test]
async fn requests_get_their_own_answers_and_refusals_are_typed() {
    let server = TestServer::start().await;
    let (_, _, mut asker) = login(&server, "asker").await;
    let (_, peer, _) = login(&server, "answerer").await;

    let pong = asker
        .request(&ClientFrame::Ping { nonce: 41 })
        .await
        .unwrap();
    assert_eq!(pong, ServerFrame::Pong { nonce: 41 });

    // `open_direct` has no answer frame of its own: `done` names the conversation, and the
    // `conversation` frame that came first is still there for `recv`.
    let conv = open_direct(&mut asker, peer).await;
    let announced = asker.recv().await.unwrap();
    assert!(
        matches!(&announced.frame, ServerFrame::Conversation(c) if c.id == conv),
        "{announced:?}"
    );

    let refused = asker
        .request(&ClientFrame::History {
            conv: ConvId(conv.0 + 1000),
            before: Seq(1),
            limit: 1,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            ClientError::Refused {
                code: ErrorCode::NotFound,
                ..
            }
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_outbox_is_resent_on_reconnect_stored_once_and_resume_repeats_nothing() {
    let server = TestServer::start().await;
    let (writer_cookie, _, mut writer) = login(&server, "writer").await;
    let (reader_cookie, reader_id, mut reader) = login(&server, "reader").await;
    let conv = open_direct(&mut writer, reader_id).await;

    // Sent, and then the connection is replaced before its ack is read: the new one sends it
    // again with the same id, and the ack empties the outbox.
    let id = ClientMsgId("resent-1".into());
    writer.send_with_id(id.clone(), conv, "once").await.unwrap();
    assert_eq!(writer.outbox().len(), 1);
    let mut writer = writer
        .reconnect(&browser(&server, &writer_cookie))
        .await
        .unwrap();
    read_until(
        &mut writer,
        |r| matches!(&r.frame, ServerFrame::Ack { client_msg_id, .. } if *client_msg_id == id),
    )
    .await;
    assert!(writer.outbox().is_empty());

    // The reader sees it once; a fresh id is stored next to it.
    let second = writer.send(conv, "twice?").await.unwrap();
    let frames = read_until(&mut reader, |r| {
        message_ids(std::slice::from_ref(r)) == [second.0.clone()]
    })
    .await;
    assert_eq!(message_ids(&frames), [id.0.clone(), second.0.clone()]);
    assert!(frames.iter().all(|r| !r.is_duplicate()));
    let last = reader.tracker().last(conv).unwrap();

    // Resuming from the tracked cursors replays nothing the reader has.
    let mut reader = reader
        .reconnect(&browser(&server, &reader_cookie))
        .await
        .unwrap();
    let replay = reader.synced().await.unwrap();
    assert!(message_ids(&replay).is_empty(), "{replay:?}");
    assert_eq!(reader.tracker().last(conv), Some(last));
}
