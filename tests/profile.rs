//! Display-name changes over the socket, against the real server: `set_profile` stores the
//! name, writes a `profile` event into every conversation of the user (so each member sees it
//! live, and a resume replays it), answers with `profile` and tells the user's other devices;
//! member lists and direct-conversation summaries carry the new name from then on. A name that
//! is too long or holds control characters is refused and changes nothing; an empty one is the
//! username again; the frame has a budget of its own (a burst of 3).
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use harness::{TestServer, ask, room};
use switchboard::protocol::{
    ClientFrame, ConvId, ConvKind, Cursor, ErrorCode, Event, EventBody, FrameType, Seq,
    ServerFrame, UserId,
};

fn set(name: &str) -> ClientFrame {
    ClientFrame::SetProfile {
        display_name: name.into(),
    }
}

fn profile(name: &str) -> ServerFrame {
    ServerFrame::Profile {
        display_name: name.into(),
    }
}

/// Whether `frame` is a `profile` event of `from` in `conv` naming them `name`.
fn renamed_in(frame: &ServerFrame, conv: ConvId, from: UserId, name: &str) -> bool {
    matches!(
        frame,
        ServerFrame::Event(Event { conv: c, from: f, body: EventBody::Profile { display_name }, .. })
            if *c == conv && *f == from && display_name == name
    )
}

/// The display name of `user` in `conv`'s member list, as `device` asks for it.
async fn member_name(device: &mut harness::Device, conv: ConvId, user: UserId, req: i64) -> String {
    match ask(device, &ClientFrame::Members { conv }, req).await {
        ServerFrame::Members { members, .. } => {
            members
                .into_iter()
                .find(|m| m.user == user)
                .unwrap()
                .display_name
        }
        other => panic!("members of {conv}: {other:?}"),
    }
}

#[tokio::test]
async fn a_new_name_reaches_every_conversation_and_device_and_replays_on_resume() {
    let server = TestServer::start().await;
    let (ann, ann_id) = server.user("ann").await;
    let (ben, ben_id) = server.user("ben").await;
    let (mut ann1, _) = server.device(&ann, vec![]).await;
    let (mut ann2, _) = server.device(&ann, vec![]).await;
    let (mut ben1, _) = server.device(&ben, vec![]).await;
    let lobby = room(&mut ann1, "lobby", true).await;
    assert_eq!(
        ask(&mut ben1, &ClientFrame::JoinRoom { conv: lobby }, 1).await,
        ServerFrame::Done { conv: lobby }
    );
    let direct = match ask(&mut ann1, &ClientFrame::OpenDirect { user: ben_id }, 2).await {
        ServerFrame::Done { conv } => conv,
        other => panic!("open_direct: {other:?}"),
    };
    let before = [lobby, direct].map(|conv| Cursor { conv, seq: Seq(0) });
    let ben_knew: Vec<Cursor> = before.to_vec();

    // The answer, Ann's other device, and Ben in both conversations, live.
    assert_eq!(
        ask(&mut ann1, &set("  Ann Lee "), 3).await,
        profile("Ann Lee")
    );
    ann2.until(|f| *f == profile("Ann Lee")).await;
    ben1.until(|f| renamed_in(f, lobby, ann_id, "Ann Lee"))
        .await;
    ben1.until(|f| renamed_in(f, direct, ann_id, "Ann Lee"))
        .await;

    // From now on, the member list and Ben's direct conversation say the new name.
    assert_eq!(member_name(&mut ben1, lobby, ann_id, 4).await, "Ann Lee");
    let (_, replay) = server.device(&ben, vec![]).await;
    let summary = replay
        .iter()
        .find_map(|f| match f {
            ServerFrame::Conversation(s) if s.id == direct => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (summary.kind, summary.name.as_str()),
        (ConvKind::Direct, "Ann Lee")
    );

    // A device of Ben's that was away replays the events in each conversation's order.
    let (_, replay) = server.device(&ben, ben_knew).await;
    for conv in [lobby, direct] {
        assert!(
            replay
                .iter()
                .any(|f| renamed_in(f, conv, ann_id, "Ann Lee")),
            "{conv}: {replay:?}"
        );
    }

    // Empty: the username again, everywhere.
    assert_eq!(ask(&mut ann2, &set(""), 5).await, profile("ann"));
    ben1.until(|f| renamed_in(f, lobby, ann_id, "ann")).await;
    assert_eq!(member_name(&mut ben1, lobby, ann_id, 6).await, "ann");
}

#[tokio::test]
async fn bad_names_are_refused_and_the_frame_has_a_budget_of_its_own() {
    let server = TestServer::start().await;
    let (ann, ann_id) = server.user("ann").await;
    let (mut ann1, _) = server.device(&ann, vec![]).await;
    let lobby = room(&mut ann1, "lobby", true).await;
    let refused = |frame: &ServerFrame, want: ErrorCode| {
        matches!(
            frame,
            ServerFrame::Error { code, refused: Some(FrameType::SetProfile), .. } if *code == want
        )
    };
    let long = "x".repeat(65);
    let answer = ask(&mut ann1, &set(&long), 1).await;
    assert!(refused(&answer, ErrorCode::InvalidRequest), "{answer:?}");
    let answer = ask(&mut ann1, &set("bell\u{7}"), 2).await;
    assert!(refused(&answer, ErrorCode::InvalidRequest), "{answer:?}");
    // Nothing was written: the name and the room's seq are as they were.
    assert_eq!(member_name(&mut ann1, lobby, ann_id, 3).await, "ann");
    let (_, replay) = server
        .device(
            &ann,
            vec![Cursor {
                conv: lobby,
                seq: Seq(1),
            }],
        )
        .await;
    assert!(
        !replay.iter().any(|f| matches!(f, ServerFrame::Event(_))),
        "{replay:?}"
    );
    // Two refused frames and one good one spend the burst of three; the fourth waits.
    assert_eq!(ask(&mut ann1, &set("Ann"), 4).await, profile("Ann"));
    let answer = ask(&mut ann1, &set("Ann again"), 5).await;
    assert!(refused(&answer, ErrorCode::RateLimited), "{answer:?}");
    match answer {
        ServerFrame::Error { retry_after_ms, .. } => {
            assert!(
                retry_after_ms.is_some_and(|ms| ms > 60_000),
                "{retry_after_ms:?}"
            );
        }
        _ => unreachable!(),
    }
    assert_eq!(member_name(&mut ann1, lobby, ann_id, 6).await, "Ann");
}
