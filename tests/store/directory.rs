//! The room directory's contract, on both backends: pages by `LIMIT`, newest first, a stable
//! cursor, a literal case-insensitive name filter, no private rooms.

use switchboard::{
    protocol::{ConvId, RoomListing, UserId},
    server::store::Store,
};

use crate::common::user;

/// Every page of the directory for `query`, `limit` rooms at a time.
async fn pages(store: &Store, query: Option<&str>, limit: u32) -> Vec<Vec<RoomListing>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store.public_rooms(query, after, limit).await.unwrap();
        pages.push(page.rooms);
        match page.next {
            Some(next) => {
                assert_eq!(Some(next), pages.last().unwrap().last().map(|r| r.id));
                after = Some(next);
            }
            None => return pages,
        }
    }
}

fn ids(rooms: &[RoomListing]) -> Vec<ConvId> {
    rooms.iter().map(|r| r.id).collect()
}

async fn directory(store: &Store, owner: UserId) {
    let mut made = Vec::new();
    for n in 0..120 {
        let name = format!("Dir-Room {n:03}");
        made.push(
            store
                .create_room(owner, &name, true, 9_000)
                .await
                .unwrap()
                .conv,
        );
    }
    let hidden = store
        .create_room(owner, "dir-room hidden", false, 9_000)
        .await
        .unwrap()
        .conv;

    let found = pages(store, Some("dir-room"), 50).await;
    let sizes: Vec<usize> = found.iter().map(Vec::len).collect();
    assert_eq!(sizes, [50, 50, 20], "case ignored, private left out");
    let walked: Vec<ConvId> = found.iter().flat_map(|p| ids(p)).collect();
    let newest_first: Vec<ConvId> = made.iter().rev().copied().collect();
    assert_eq!(walked, newest_first, "every room once, newest first");
    assert_eq!(found[0][0].members, 1);

    let everything: Vec<ConvId> = pages(store, None, 100)
        .await
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert!(made.iter().all(|id| everything.contains(id)));
    assert!(
        !everything.contains(&hidden),
        "a private room is never listed"
    );

    let one = store.public_rooms(Some("ROOM 07"), None, 50).await.unwrap();
    assert_eq!(one.rooms.len(), 10, "070..079: {:?}", one.rooms);
    assert_eq!(one.next, None, "a last page has no next");

    // `%`, `_` and `\` match themselves, not any text or any character.
    let odd = [
        "100% off",
        "100x off",
        "snake_case",
        "snakeXcase",
        "back\\slash",
    ];
    let mut odd_ids = Vec::new();
    for name in odd {
        odd_ids.push(
            store
                .create_room(owner, name, true, 9_000)
                .await
                .unwrap()
                .conv,
        );
    }
    for (query, expected) in [("0%", 0), ("e_c", 2), ("\\", 4)] {
        let page = store.public_rooms(Some(query), None, 50).await.unwrap();
        assert_eq!(ids(&page.rooms), [odd_ids[expected]], "query {query:?}");
    }
    assert!(
        store
            .public_rooms(Some("%"), None, 50)
            .await
            .unwrap()
            .rooms
            .len()
            == 1
    );
}

/// The directory pages newest first with a stable cursor, filters by a literal name ignoring
/// case, and never lists a private room.
async fn pages_newest_first_with_a_literal_filter_and_no_private_rooms(store: &Store) {
    let owner = user(store, "Dora").await;
    directory(store, owner).await;
}

on_both!(pages_newest_first_with_a_literal_filter_and_no_private_rooms);
