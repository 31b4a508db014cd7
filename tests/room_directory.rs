//! Answers that could be huge, against the real server: `list_rooms` pages newest first with
//! a `next` cursor, filters by name (substring, any case, wildcards literal), never lists a
//! private room, and refuses an over-long search; `members` of a huge room is capped.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use harness::{Device, TestServer};
use switchboard::{
    protocol::{
        ClientFrame, ConvId, ErrorCode, EventBody, FrameType, MAX_MEMBERS, RoomListing, ServerFrame,
    },
    server::store::NewUser,
};

/// One `list_rooms` round trip: the page and its `next`.
async fn page(
    device: &mut Device,
    query: Option<&str>,
    after: Option<ConvId>,
    limit: Option<u32>,
) -> (Vec<RoomListing>, Option<ConvId>) {
    device
        .send(&ClientFrame::ListRooms {
            query: query.map(str::to_owned),
            after,
            limit,
        })
        .await;
    loop {
        match device.next().await {
            ServerFrame::Rooms {
                rooms,
                query: echoed,
                after: echoed_after,
                next,
            } => {
                assert_eq!(echoed.as_deref(), query, "the query is echoed");
                assert_eq!(echoed_after, after, "so is the cursor");
                return (rooms, next);
            }
            ServerFrame::Error { code, message, .. } => panic!("{code:?}: {message}"),
            _ => {}
        }
    }
}

/// Every page for `query`, following `next`.
async fn all_pages(device: &mut Device, query: Option<&str>) -> Vec<Vec<RoomListing>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let (rooms, next) = page(device, query, after, None).await;
        pages.push(rooms);
        match next {
            Some(next) => after = Some(next),
            None => return pages,
        }
    }
}

/// Creates rooms named `names` from `owner` (all sent at once), returning their ids in order.
async fn rooms(owner: &mut Device, names: &[String], public: bool) -> Vec<ConvId> {
    for name in names {
        owner
            .send(&ClientFrame::CreateRoom {
                name: name.clone(),
                public,
            })
            .await;
    }
    let mut ids = Vec::new();
    while ids.len() < names.len() {
        ids.push(owner.conversation().await);
    }
    ids
}

#[tokio::test]
async fn list_rooms_pages_filters_literally_and_hides_private_rooms() {
    // 120 rooms from one user in a moment: far past the default change budget.
    let server = TestServer::start_with(|c| c.changes_per_minute = 100_000).await;
    let (o, _) = server.user("owner").await;
    let (mut owner, _) = server.device(&o, vec![]).await;
    let (b, _) = server.user("browser").await;
    let (mut browser, _) = server.device(&b, vec![]).await;

    let names: Vec<String> = (0..120).map(|n| format!("Team Room {n:03}")).collect();
    let made = rooms(&mut owner, &names, true).await;
    let hidden = rooms(&mut owner, &["team room secret".to_owned()], false).await[0];

    let pages = all_pages(&mut browser, None).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [50, 50, 20]);
    let listed: Vec<ConvId> = pages.iter().flatten().map(|r| r.id).collect();
    let newest_first: Vec<ConvId> = made.iter().rev().copied().collect();
    assert_eq!(listed, newest_first, "each room once, newest first");
    assert!(!listed.contains(&hidden), "a private room is never listed");
    assert_eq!(pages[0][0].name, "Team Room 119");
    assert_eq!(pages[0][0].members, 1);

    // Substring, any case; a private room's name matching changes nothing.
    let (found, next) = page(&mut browser, Some("ROOM 04"), None, None).await;
    let mut found: Vec<String> = found.into_iter().map(|r| r.name).collect();
    found.sort();
    let expected: Vec<String> = (40..50).map(|n| format!("Team Room {n:03}")).collect();
    assert_eq!(found, expected);
    assert_eq!(next, None, "one page holds them all");
    let secret = page(&mut browser, Some("secret"), None, None).await;
    assert!(secret.0.is_empty(), "{secret:?}");

    // A smaller limit pages the search too.
    let (first, next) = page(&mut browser, Some("team"), None, Some(100)).await;
    assert_eq!((first.len(), next), (100, Some(first[99].id)));

    // `%` and `_` are literal.
    let odd = ["50% off", "50x off", "a_b", "axb"].map(str::to_owned);
    let odd = rooms(&mut owner, &odd, true).await;
    let (hits, _) = page(&mut browser, Some("0%"), None, None).await;
    assert_eq!(hits.iter().map(|r| r.id).collect::<Vec<_>>(), [odd[0]]);
    let (hits, _) = page(&mut browser, Some("a_b"), None, None).await;
    assert_eq!(hits.iter().map(|r| r.id).collect::<Vec<_>>(), [odd[2]]);

    // A search longer than a room name can be is refused, and says which frame it refuses.
    browser
        .send(&ClientFrame::ListRooms {
            query: Some("x".repeat(65)),
            after: None,
            limit: None,
        })
        .await;
    let refusal = browser
        .until(|f| matches!(f, ServerFrame::Error { .. }))
        .await
        .pop();
    assert!(
        matches!(
            refusal,
            Some(ServerFrame::Error {
                code: ErrorCode::InvalidRequest,
                refused: Some(FrameType::ListRooms),
                ..
            })
        ),
        "{refusal:?}"
    );

    // The bare frame still works (every field optional).
    browser.send_text(r#"{"type":"list_rooms"}"#).await;
    let answer = browser
        .until(|f| matches!(f, ServerFrame::Rooms { .. }))
        .await;
    assert!(matches!(
        answer.last(),
        Some(ServerFrame::Rooms { rooms, next: Some(_), .. }) if rooms.len() == 50
    ));
}

#[tokio::test]
async fn a_huge_rooms_member_list_is_capped_and_says_there_are_more() {
    let server = TestServer::start().await;
    let (o, _) = server.user("aaa_owner").await;
    let (mut owner, _) = server.device(&o, vec![]).await;
    let conv = rooms(&mut owner, &["crowd".to_owned()], true).await[0];
    // Members straight into the store: registering 500 people over HTTP would only be slow.
    let store = &server.state.services.store;
    for n in 0..MAX_MEMBERS {
        let name = format!("member{n:04}");
        let user = store
            .create_user(
                NewUser {
                    username: &name,
                    username_key: &name,
                    display_name: &name,
                    password_hash: "x",
                },
                1,
            )
            .await
            .unwrap()
            .id;
        store
            .add_member(conv, user, user, EventBody::Joined {}, 1)
            .await
            .unwrap();
    }
    owner.send(&ClientFrame::Members { conv }).await;
    let answer = owner
        .until(|f| matches!(f, ServerFrame::Members { .. }))
        .await
        .pop();
    let Some(ServerFrame::Members { members, more, .. }) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(members.len(), MAX_MEMBERS as usize);
    assert!(more, "501 members: one is left out, and the answer says so");
    assert_eq!(members[0].username, "aaa_owner", "by username");
    assert_eq!(members.last().unwrap().username, "member0498");
}
