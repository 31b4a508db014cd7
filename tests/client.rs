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
    protocol::{ClientFrame, ClientMsgId, ConvId, ErrorCode, EventBody, Seq, ServerFrame},
};

async fn session(server: &TestServer, cookie: &str) -> (Session, Vec<Received>) {
    let target = Target::new(server.addr.to_string())
        .origin(server.origin())
        .cookie(cookie);
    let mut session = Session::connect(&target).await.unwrap();
    let replay = session.synced().await.unwrap();
    (session, replay)
}

/// Message events with `id` among what `session` reads until `done` matches.
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

fn message_ids(frames: &[Received]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|r| match &r.frame {
            ServerFrame::Event(event) => match &event.body {
                EventBody::Message { client_msg_id, .. } => Some(client_msg_id.0.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn requests_get_their_own_answers_and_refusals_are_typed() {
    let server = TestServer::start().await;
    let (cookie, _) = server.user("asker").await;
    let (_, peer) = server.user("answerer").await;
    let (mut asker, _) = session(&server, &cookie).await;

    let pong = asker
        .request(&ClientFrame::Ping { nonce: 41 })
        .await
        .unwrap();
    assert_eq!(pong, ServerFrame::Pong { nonce: 41 });

    // `open_direct` has no answer frame of its own: `done` names the conversation, and the
    // `conversation` frame that came first is still there for `recv`.
    let done = asker
        .request(&ClientFrame::OpenDirect { user: peer })
        .await
        .unwrap();
    let ServerFrame::Done { conv } = done else {
        panic!("expected done, got {done:?}")
    };
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
    let (writer_cookie, _) = server.user("writer").await;
    let (reader_cookie, reader_id) = server.user("reader").await;
    let (mut writer, _) = session(&server, &writer_cookie).await;
    let (mut reader, _) = session(&server, &reader_cookie).await;
    let ServerFrame::Done { conv } = writer
        .request(&ClientFrame::OpenDirect { user: reader_id })
        .await
        .unwrap()
    else {
        panic!("expected done")
    };

    // Sent, and then the connection is replaced before its ack is read: the new one sends it
    // again with the same id, and the ack empties the outbox.
    let id = ClientMsgId("resent-1".into());
    writer.send_with_id(id.clone(), conv, "once").await.unwrap();
    assert_eq!(writer.outbox().len(), 1);
    let target = Target::new(server.addr.to_string())
        .origin(server.origin())
        .cookie(&writer_cookie);
    let mut writer = writer.reconnect(&target).await.unwrap();
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
    let target = Target::new(server.addr.to_string())
        .origin(server.origin())
        .cookie(&reader_cookie);
    let mut reader = reader.reconnect(&target).await.unwrap();
    let replay = reader.synced().await.unwrap();
    assert!(message_ids(&replay).is_empty(), "{replay:?}");
    assert_eq!(reader.tracker().last(conv), Some(last));
}
