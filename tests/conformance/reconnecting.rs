//! PROTOCOL.md, *Reconnecting*: the outbox may be resent right after `resume`, before
//! `synced`; each message is stored once.
//!
//! The `reconnect` hint and 1001 on shutdown: `tests/server.rs`
//! (`shutdown_tells_clients_to_reconnect_closes_with_going_away_and_drains`) and
//! `tests/binary.rs` (`sigterm_says_goodbye_to_open_sockets_and_exits_cleanly`).

use crate::harness::{TestServer, messages, room};
use switchboard::protocol::{ClientFrame, ClientMsgId, Cursor, Seq, ServerFrame};

#[tokio::test]
async fn an_outbox_resent_before_synced_is_stored_once_and_acked_with_the_original_seq() {
    let server = TestServer::start().await;
    let (cookie, _) = server.user("outbox").await;
    let (mut first, _) = server.device(&cookie, vec![]).await;
    let conv = room(&mut first, "outbox", false).await;
    let seq = first.post(conv, "o1", "kept").await;
    // The connection died before the client saw that ack: it still holds o1 (and o2, never
    // sent) in its outbox, and its cursor is 1.
    drop(first);
    let mut again = server.greeted(&cookie).await;
    again
        .send(&ClientFrame::Resume {
            cursors: vec![Cursor { conv, seq: Seq(1) }],
        })
        .await;
    for (id, body) in [("o1", "kept"), ("o2", "new")] {
        again
            .send(&ClientFrame::Send {
                client_msg_id: ClientMsgId(id.into()),
                conv,
                body: body.into(),
                reply_to: None,
            })
            .await;
    }
    let mut frames = again.until(|f| matches!(f, ServerFrame::Synced {})).await;
    let mut acks = Vec::new();
    while acks.len() < 2 {
        let frame = again.next().await;
        if let ServerFrame::Ack {
            client_msg_id, seq, ..
        } = &frame
        {
            acks.push((client_msg_id.0.clone(), seq.0));
        }
        frames.push(frame);
    }
    // Acks may come before or after `synced`; these two came after it (the replay was queued
    // first), and the retry got its original seq.
    assert_eq!(
        acks,
        vec![("o1".to_owned(), seq.0), ("o2".to_owned(), seq.0 + 1)]
    );
    again.send(&ClientFrame::Ping { nonce: 1 }).await;
    frames.extend(
        again
            .until(|f| matches!(f, ServerFrame::Pong { nonce: 1 }))
            .await,
    );
    assert_eq!(
        messages(&frames, conv),
        vec![(2, "kept".to_owned()), (3, "new".to_owned())],
        "each once, in order"
    );
}
