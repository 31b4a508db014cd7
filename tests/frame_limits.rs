//! Per-user frame budgets against the real server: a closed-loop flood of each limited frame
//! kind is refused with `rate_limited` once its budget is spent, the flooding user's devices
//! share that budget, another user is untouched, and a person's pace is never refused.
//!
//! Nothing here measures speed. The budgets are small, and every bound allows for what the
//! budget refilled while the test ran (measured), so a slow machine only weakens a bound.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{Device, TestServer, room};
use switchboard::{
    protocol::{ClientFrame, ConvId, Cursor, ErrorCode, Seq, ServerFrame, UserId},
    server::config::Config,
};

/// Changes per minute in these tests: a burst of 4, one more every 3.75 s.
const CHANGES_PER_MINUTE: u32 = 16;
/// Reads per second in these tests: a burst of 10 cells.
const READS_PER_SECOND: u32 = 5;
/// Read marks per second in these tests: a burst of 10.
const MARKS_PER_SECOND: u32 = 5;

fn small_budgets(c: &mut Config) {
    c.changes_per_minute = CHANGES_PER_MINUTE;
    c.reads_per_second = READS_PER_SECOND;
    c.marks_per_second = MARKS_PER_SECOND;
}

/// Sends `frame` and then a ping; returns the code of the refusal the frame drew, if any.
/// The server handles a connection's frames in order, so the pong comes after it.
async fn outcome(device: &mut Device, frame: &ClientFrame) -> Option<ErrorCode> {
    let nonce = fresh_nonce();
    device.send(frame).await;
    device.send(&ClientFrame::Ping { nonce }).await;
    let mut refused = None;
    loop {
        match device.next().await {
            ServerFrame::Pong { nonce: n } if n == nonce => return refused,
            ServerFrame::Error { code, .. } => refused = Some(code),
            _ => {}
        }
    }
}

/// A nonce no other ping of this process uses.
fn fresh_nonce() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// What a flood got: frames past the budget (whatever they then did) and frames refused.
#[derive(Debug, Default)]
struct Tally {
    /// Frames that passed the budget.
    admitted: usize,
    /// Frames refused with `rate_limited`.
    refused: usize,
}

/// Sends `frames` one at a time, each after the previous one's answer, taking turns across
/// `devices`.
async fn flood(devices: &mut [Device], frames: impl IntoIterator<Item = ClientFrame>) -> Tally {
    let mut tally = Tally::default();
    let turns = devices.len();
    for (n, frame) in frames.into_iter().enumerate() {
        match outcome(&mut devices[n % turns], &frame).await {
            Some(ErrorCode::RateLimited) => tally.refused += 1,
            _ => tally.admitted += 1,
        }
    }
    tally
}

/// The most cells a budget of `burst` refilling at `per_second` lets through in `took`
/// (one more for a cell that was almost refilled at the start).
fn most(burst: u32, per_second: f64, took: Duration) -> f64 {
    f64::from(burst) + per_second * took.as_secs_f64() + 1.0
}

/// A user with two resumed devices.
async fn two_devices(server: &TestServer, name: &str) -> (UserId, Vec<Device>) {
    let (cookie, id) = server.user(name).await;
    let (a, _) = server.device(&cookie, vec![]).await;
    let (b, _) = server.device(&cookie, vec![]).await;
    (id, vec![a, b])
}

/// The change kinds, each as a flood of 16 frames from `flooder`, after whatever setup it
/// needs (returned: how many changes the setup made from the flooder's own budget).
async fn change_flood(
    kind: &str,
    flooder: &mut [Device],
    helper: &mut Device,
    target: UserId,
) -> (usize, Vec<ClientFrame>) {
    let n = 16;
    match kind {
        "create_room" => (
            0,
            (0..n)
                .map(|i| ClientFrame::CreateRoom {
                    name: format!("flood {i}"),
                    public: true,
                })
                .collect(),
        ),
        "rename_room" => {
            let conv = room(&mut flooder[0], "mine", true).await;
            let frames = (0..n)
                .map(|i| ClientFrame::RenameRoom {
                    conv,
                    name: format!("mine {i}"),
                })
                .collect();
            (1, frames)
        }
        "join_room" | "leave" => {
            let conv = room(helper, &format!("{kind} hall"), true).await;
            let frames = (0..n)
                .map(|i| {
                    if i % 2 == 0 || kind == "join_room" {
                        ClientFrame::JoinRoom { conv }
                    } else {
                        ClientFrame::Leave { conv }
                    }
                })
                .collect();
            (0, frames)
        }
        "invite" => {
            let conv = room(&mut flooder[0], "club", false).await;
            let frames = (0..n)
                .map(|i| {
                    if i % 2 == 0 {
                        ClientFrame::Invite { conv, user: target }
                    } else {
                        ClientFrame::Remove { conv, user: target }
                    }
                })
                .collect();
            (1, frames)
        }
        "remove" => {
            let conv = room(&mut flooder[0], "club", false).await;
            let invite = ClientFrame::Invite { conv, user: target };
            assert_eq!(outcome(&mut flooder[0], &invite).await, None);
            let frames = (0..n)
                .map(|_| ClientFrame::Remove { conv, user: target })
                .collect();
            (2, frames)
        }
        "open_direct" => (
            0,
            (0..n)
                .map(|_| ClientFrame::OpenDirect { user: target })
                .collect(),
        ),
        other => panic!("no change kind {other}"),
    }
}

#[tokio::test]
async fn every_kind_of_change_is_refused_after_the_burst_per_user_across_devices() {
    let server = TestServer::start_with(small_budgets).await;
    let (h, _) = server.user("helper").await;
    let (mut helper, _) = server.device(&h, vec![]).await;
    let (_, target) = server.user("target").await;
    let burst = CHANGES_PER_MINUTE / 4;
    let rate = f64::from(CHANGES_PER_MINUTE) / 60.0;
    for kind in [
        "create_room",
        "rename_room",
        "join_room",
        "leave",
        "invite",
        "remove",
        "open_direct",
    ] {
        let start = Instant::now();
        let (_, mut flooder) = two_devices(&server, &format!("flood_{kind}")).await;
        let (setup, frames) = change_flood(kind, &mut flooder, &mut helper, target).await;
        let tally = flood(&mut flooder, frames).await;
        let admitted = (tally.admitted + setup) as f64;
        assert!(tally.refused > 0, "{kind}: a flood is refused: {tally:?}");
        assert!(tally.admitted > 0, "{kind}: the burst passes: {tally:?}");
        assert!(
            admitted <= most(burst, rate, start.elapsed()),
            "{kind}: both devices draw on one budget: {tally:?} in {:?}",
            start.elapsed()
        );

        // Someone else, right after, is not held back by the flood.
        let (_, mut other) = two_devices(&server, &format!("calm_{kind}")).await;
        let (_, frames) = change_flood(kind, &mut other, &mut helper, target).await;
        let calm = flood(&mut other, frames.into_iter().take(2)).await;
        assert_eq!(
            calm.refused, 0,
            "{kind}: another user is unaffected: {calm:?}"
        );
    }
}

#[tokio::test]
async fn costly_reads_share_one_budget_per_user() {
    let server = TestServer::start_with(small_budgets).await;
    let burst = READS_PER_SECOND * 2;
    let rate = f64::from(READS_PER_SECOND);
    for kind in ["history", "members", "list_rooms"] {
        let start = Instant::now();
        let (_, mut flooder) = two_devices(&server, &format!("reader_{kind}")).await;
        let conv = room(&mut flooder[0], &format!("{kind} room"), true).await;
        assert_eq!(flooder[1].conversation().await, conv);
        let (frame, cost) = match kind {
            "history" => (
                ClientFrame::History {
                    conv,
                    before: Seq(100),
                    limit: 10,
                },
                1,
            ),
            "members" => (ClientFrame::Members { conv }, 2),
            _ => (
                ClientFrame::ListRooms {
                    query: None,
                    after: None,
                    limit: Some(10),
                },
                1,
            ),
        };
        let tally = flood(&mut flooder, std::iter::repeat_n(frame.clone(), 40)).await;
        // Both devices' resumes cost a cell each.
        let cells = (tally.admitted * cost + 2) as f64;
        assert!(tally.refused > 0, "{kind}: a flood is refused: {tally:?}");
        assert!(tally.admitted > 0, "{kind}: the burst passes: {tally:?}");
        assert!(
            cells <= most(burst, rate, start.elapsed()),
            "{kind}: both devices draw on one budget: {tally:?} in {:?}",
            start.elapsed()
        );
        let (_, mut calm) = two_devices(&server, &format!("calm_{kind}")).await;
        let conv = room(&mut calm[0], "calm room", true).await;
        let frame = match frame {
            ClientFrame::History { before, limit, .. } => ClientFrame::History {
                conv,
                before,
                limit,
            },
            ClientFrame::Members { .. } => ClientFrame::Members { conv },
            other => other,
        };
        assert_eq!(
            outcome(&mut calm[0], &frame).await,
            None,
            "{kind}: another user is unaffected"
        );
    }
}

/// Opens a device for `cookie` and resumes with `cursors`: whether `synced` came, or a refusal.
async fn try_resume(
    server: &TestServer,
    cookie: &str,
    cursors: Vec<Cursor>,
) -> Result<Device, ErrorCode> {
    let mut device = server.greeted(cookie).await;
    device.send(&ClientFrame::Resume { cursors }).await;
    loop {
        match device.next().await {
            ServerFrame::Synced {} => return Ok(device),
            ServerFrame::Error { code, .. } => return Err(code),
            _ => {}
        }
    }
}

#[tokio::test]
async fn resumes_draw_on_the_read_budget_and_cost_more_with_many_cursors() {
    let server = TestServer::start_with(small_budgets).await;
    let burst = READS_PER_SECOND * 2;
    let (cookie, _) = server.user("tabs").await;
    let start = Instant::now();
    let mut open = Vec::new();
    let mut refused = 0;
    // Forty tabs opened as fast as they can be: far faster than a person, but within the
    // per-user socket cap.
    for _ in 0..40 {
        match try_resume(&server, &cookie, vec![]).await {
            Ok(device) => open.push(device),
            Err(code) => {
                assert_eq!(code, ErrorCode::RateLimited);
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "a reconnect loop is refused");
    assert!(
        open.len() as f64 <= most(burst, f64::from(READS_PER_SECOND), start.elapsed()),
        "{} resumes passed",
        open.len()
    );

    // 450 cursors cost 1 + 450/50 = 10 cells: the whole burst, so the next read is refused.
    let (other, _) = server.user("hoarder").await;
    let cursors = (1..=450)
        .map(|n| Cursor {
            conv: ConvId(n),
            seq: Seq(0),
        })
        .collect();
    let list = ClientFrame::ListRooms {
        query: None,
        after: None,
        limit: Some(1),
    };
    let start = Instant::now();
    let mut hoarder = try_resume(&server, &other, cursors).await.unwrap();
    let answered = pipelined(&mut hoarder, &list, 8).await;
    let passed = answered.iter().filter(|r| r.is_ok()).count();
    assert!(
        passed as f64 <= most(0, f64::from(READS_PER_SECOND), start.elapsed()),
        "only what refilled since passes: {answered:?}"
    );
    // Whereas a plain resume leaves most of a budget.
    let (calm, _) = server.user("calm").await;
    let mut calm = try_resume(&server, &calm, vec![]).await.unwrap();
    let answered = pipelined(&mut calm, &list, 8).await;
    assert!(answered.iter().all(Result::is_ok), "{answered:?}");
}

/// Sends `frame` `n` times without waiting, then collects each one's answer: a `rooms` frame
/// or a refusal.
async fn pipelined(
    device: &mut Device,
    frame: &ClientFrame,
    n: usize,
) -> Vec<Result<(), ErrorCode>> {
    for _ in 0..n {
        device.send(frame).await;
    }
    let mut answers = Vec::new();
    while answers.len() < n {
        match device.next().await {
            ServerFrame::Rooms { .. } => answers.push(Ok(())),
            ServerFrame::Error { code, .. } => answers.push(Err(code)),
            _ => {}
        }
    }
    answers
}

#[tokio::test]
async fn read_marks_are_refused_after_the_burst_per_user_across_devices() {
    let server = TestServer::start_with(small_budgets).await;
    let burst = MARKS_PER_SECOND * 2;
    let start = Instant::now();
    let (_, mut flooder) = two_devices(&server, "marker").await;
    let conv = room(&mut flooder[0], "notes", true).await;
    let _ = flooder[1].conversation().await;
    let mark = ClientFrame::Read { conv, seq: Seq(1) };
    let tally = flood(&mut flooder, std::iter::repeat_n(mark, 40)).await;
    assert!(tally.refused > 0, "a flood is refused: {tally:?}");
    assert!(
        tally.admitted as f64 <= most(burst, f64::from(MARKS_PER_SECOND), start.elapsed()),
        "both devices draw on one budget: {tally:?}"
    );

    let (c, _) = server.user("calm").await;
    let (mut calm, _) = server.device(&c, vec![]).await;
    let conv = room(&mut calm, "mine", true).await;
    assert_eq!(
        outcome(&mut calm, &ClientFrame::Read { conv, seq: Seq(1) }).await,
        None,
        "another user is unaffected"
    );
}

#[tokio::test]
async fn a_person_at_a_few_frames_a_second_is_never_refused() {
    // Budgets as small as the tests use, but a steady pace under each rate: only the burst
    // could explain passing if the rate were not honoured, and the pace outlasts the burst.
    let server = TestServer::start_with(small_budgets).await;
    let (p, _) = server.user("person").await;
    let (mut person, _) = server.device(&p, vec![]).await;
    let conv = room(&mut person, "desk", true).await;
    for n in 0..16_i64 {
        let frames = [
            ClientFrame::Read { conv, seq: Seq(1) },
            ClientFrame::History {
                conv,
                before: Seq(2),
                limit: 10,
            },
        ];
        for frame in frames {
            assert_eq!(
                outcome(&mut person, &frame).await,
                None,
                "round {n}: {frame:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // With the defaults, a busy person's minute: rooms made, renamed, joined, browsed.
    let server = TestServer::start().await;
    let (p, _) = server.user("busy").await;
    let (mut person, _) = server.device(&p, vec![]).await;
    for n in 0..10 {
        let conv = room(&mut person, &format!("project {n}"), true).await;
        let frames = [
            ClientFrame::RenameRoom {
                conv,
                name: format!("project {n}!"),
            },
            ClientFrame::Members { conv },
            ClientFrame::ListRooms {
                query: Some("project".into()),
                after: None,
                limit: None,
            },
            ClientFrame::Read { conv, seq: Seq(1) },
        ];
        for frame in frames {
            assert_eq!(outcome(&mut person, &frame).await, None, "{frame:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
