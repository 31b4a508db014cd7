//! PROTOCOL.md, *Resume*: the replay, read positions, and `synced` answering `resume`.
//!
//! Replay without gaps or repeats is proven in `tests/routing.rs`
//! (`a_reconnecting_client_gets_exactly_what_it_missed`,
//! `an_offline_user_gets_everything_and_a_new_device_gets_recent_history`,
//! `leaving_and_rejoining_on_one_connection_repeats_nothing`).

use super::reply;
use crate::harness::{TestServer, room};
use switchboard::protocol::{ClientFrame, Cursor, NotifyLevel, Req, Seq, ServerFrame};

#[tokio::test]
async fn a_device_offline_while_its_read_position_moved_learns_it_on_resume() {
    let server = TestServer::start().await;
    let (cookie, _) = server.user("reader").await;
    let (mut phone, _) = server.device(&cookie, vec![]).await;
    let conv = room(&mut phone, "reading", false).await;
    for n in 0..3 {
        phone.post(conv, &format!("r{n}"), "x").await;
    }
    // The laptop holds everything (seqs 1 to 4) and goes away.
    let cursors = vec![Cursor { conv, seq: Seq(4) }];
    drop(server.device(&cookie, cursors.clone()).await);
    phone.send(&ClientFrame::Read { conv, seq: Seq(3) }).await;
    phone.send(&ClientFrame::Ping { nonce: 1 }).await;
    phone
        .until(|f| matches!(f, ServerFrame::Pong { nonce: 1 }))
        .await;

    // Back, with nothing new to replay: the read position still arrives, before `synced`.
    let mut laptop = server.greeted(&cookie).await;
    laptop
        .send_text(&format!(
            r#"{{"type":"resume","cursors":[{{"conv":{conv},"seq":4}}],"req":"r"}}"#
        ))
        .await;
    let mut before = Vec::new();
    let synced = loop {
        let next = reply(&mut laptop).await;
        if next.frame == (ServerFrame::Synced {}) {
            break next;
        }
        assert_eq!(next.req, None, "only the synced answers the resume");
        before.push(next.frame);
    };
    assert_eq!(synced.req, Some(Req::Text("r".into())));
    // With it, the conversation's notification settings (they too may have changed).
    assert_eq!(
        before,
        vec![
            ServerFrame::ReadState { conv, seq: Seq(3) },
            ServerFrame::Notify {
                conv,
                level: NotifyLevel::Mentions,
                muted: false,
            },
        ]
    );
}
