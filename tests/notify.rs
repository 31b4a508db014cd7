//! Notification settings over the socket, against the real server: `notify` and
//! `do_not_disturb` are stored, answered, and reach the user's other devices at once; a
//! reconnect carries them (in each summary, in `notify` frames on a resume, `do_not_disturb`
//! before `synced`); a conversation one is not in is refused and nothing is written; the
//! frames are charged to the changes budget.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use harness::{TestServer, ask, room};
use switchboard::protocol::{
    ClientFrame, ConvId, Cursor, ErrorCode, FrameType, NotifyLevel, NotifySettings, Seq,
    ServerFrame,
};

fn notify(conv: ConvId, level: NotifyLevel, muted: bool) -> ClientFrame {
    ClientFrame::Notify { conv, level, muted }
}

fn notified(conv: ConvId, level: NotifyLevel, muted: bool) -> ServerFrame {
    ServerFrame::Notify { conv, level, muted }
}

/// The settings the summary of `conv` in `frames` carries.
fn summary_settings(frames: &[ServerFrame], conv: ConvId) -> NotifySettings {
    frames
        .iter()
        .find_map(|f| match f {
            ServerFrame::Conversation(s) if s.id == conv => Some(s.notify),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no summary of {conv}: {frames:?}"))
}

#[tokio::test]
async fn settings_reach_every_device_and_survive_a_reconnect() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (mut ann1, _) = server.device(&ann, vec![]).await;
    let (mut ann2, _) = server.device(&ann, vec![]).await;
    let lobby = room(&mut ann1, "lobby", true).await;
    let quiet = room(&mut ann1, "quiet", true).await;

    // Muted with level none: the answer, and Ann's other device at once.
    let answer = ask(&mut ann1, &notify(quiet, NotifyLevel::None, true), 1).await;
    assert_eq!(answer, notified(quiet, NotifyLevel::None, true));
    ann2.until(|f| *f == notified(quiet, NotifyLevel::None, true))
        .await;
    let answer = ask(&mut ann2, &notify(lobby, NotifyLevel::All, false), 2).await;
    assert_eq!(answer, notified(lobby, NotifyLevel::All, false));
    ann1.until(|f| *f == notified(lobby, NotifyLevel::All, false))
        .await;
    let answer = ask(&mut ann1, &ClientFrame::DoNotDisturb { on: true }, 3).await;
    assert_eq!(answer, ServerFrame::DoNotDisturb { on: true });
    ann2.until(|f| *f == ServerFrame::DoNotDisturb { on: true })
        .await;

    // A new device: every summary carries its settings, and "do not disturb" comes before
    // `synced`.
    let (_, replay) = server.device(&ann, vec![]).await;
    assert_eq!(
        summary_settings(&replay, quiet),
        NotifySettings {
            level: NotifyLevel::None,
            muted: true
        }
    );
    assert_eq!(summary_settings(&replay, lobby).level, NotifyLevel::All);
    assert!(
        replay.contains(&ServerFrame::DoNotDisturb { on: true }),
        "{replay:?}"
    );

    // A device resuming conversations it knows hears their settings (changed while it was
    // away) in `notify` frames; with "do not disturb" off, it hears none of it.
    drop(ann2);
    ask(&mut ann1, &notify(quiet, NotifyLevel::Mentions, false), 4).await;
    ask(&mut ann1, &ClientFrame::DoNotDisturb { on: false }, 5).await;
    let cursors = [lobby, quiet]
        .map(|conv| Cursor { conv, seq: Seq(1) })
        .to_vec();
    let (_, replay) = server.device(&ann, cursors).await;
    assert!(
        replay.contains(&notified(quiet, NotifyLevel::Mentions, false)),
        "{replay:?}"
    );
    assert!(
        replay.contains(&notified(lobby, NotifyLevel::All, false)),
        "{replay:?}"
    );
    assert!(
        !replay
            .iter()
            .any(|f| matches!(f, ServerFrame::DoNotDisturb { .. })),
        "{replay:?}"
    );
}

#[tokio::test]
async fn settings_for_a_conversation_one_is_not_in_are_refused() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (ben, _) = server.user("ben").await;
    let (mut ann1, _) = server.device(&ann, vec![]).await;
    let (mut ben1, _) = server.device(&ben, vec![]).await;
    let private = room(&mut ann1, "private", false).await;
    let refused = ask(&mut ben1, &notify(private, NotifyLevel::All, false), 1).await;
    assert!(
        matches!(
            refused,
            ServerFrame::Error {
                code: ErrorCode::Forbidden,
                refused: Some(FrameType::Notify),
                ..
            }
        ),
        "{refused:?}"
    );
    let missing = ask(
        &mut ben1,
        &notify(ConvId(9_999), NotifyLevel::All, false),
        2,
    )
    .await;
    assert!(
        matches!(
            missing,
            ServerFrame::Error {
                code: ErrorCode::NotFound,
                ..
            }
        ),
        "{missing:?}"
    );
    // Ann's own settings are untouched.
    let (_, replay) = server.device(&ann, vec![]).await;
    assert_eq!(
        summary_settings(&replay, private),
        NotifySettings::default()
    );
    // A level that is not one of the three is a malformed frame: refused, connection open.
    ben1.send_text(r#"{"type":"notify","conv":1,"level":"loud","muted":false}"#)
        .await;
    let (code, _) = ben1.error().await;
    assert_eq!(code, ErrorCode::MalformedFrame);
    ben1.send(&ClientFrame::Ping { nonce: 9 }).await;
    ben1.until(|f| matches!(f, ServerFrame::Pong { nonce: 9 }))
        .await;
}

#[tokio::test]
async fn a_flood_of_setting_changes_is_rate_limited() {
    // Four changes a minute, in bursts of one: however slow the machine, a second change
    // within 15 s is refused.
    let server = TestServer::start_with(|c| c.changes_per_minute = 4).await;
    let (ann, _) = server.user("ann").await;
    let (mut ann1, _) = server.device(&ann, vec![]).await;
    let mut limited = 0;
    for i in 0..10 {
        let on = i % 2 == 0;
        let answer = ask(&mut ann1, &ClientFrame::DoNotDisturb { on }, i).await;
        match answer {
            ServerFrame::DoNotDisturb { on: got } => assert_eq!(got, on),
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(limited >= 9, "{limited} of 10 changes at once refused");
}
