//! The store epoch on both backends: settled once, the same for every store on one database,
//! stamped on every conversation summary, and replaced only on purpose.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/postgres.rs"]
mod pg;

use pg::PgServer;
use switchboard::{
    protocol::UserId,
    server::store::{Location, NewUser, Store},
};

/// A user with a room: every summary of theirs must carry the store's epoch.
async fn summaries_carry_the_epoch(store: &Store) {
    let user: UserId = store
        .create_user(
            NewUser {
                username: "Eve",
                username_key: "eve",
                display_name: "Eve",
                password_hash: "hash",
            },
            100,
        )
        .await
        .unwrap()
        .id;
    store.create_room(user, "lobby", true, 100).await.unwrap();
    let list = store.conversations(user, None).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list.iter().all(|s| &s.epoch == store.epoch()), "{list:?}");
}

#[tokio::test]
async fn sqlite_keeps_its_epoch_across_opens_and_stamps_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let first = Store::open_sqlite(&path).await.unwrap();
    let epoch = first.epoch().clone();
    assert_eq!(epoch.0.len(), 16);
    // A second process-like open while the first lives (an admin command beside a server).
    let second = Store::open_sqlite(&path).await.unwrap();
    assert_eq!(second.epoch(), &epoch);
    summaries_carry_the_epoch(&first).await;
    drop((first, second));
    assert_eq!(Store::open_sqlite(&path).await.unwrap().epoch(), &epoch);
    // Another database has another epoch.
    let other = Store::open_sqlite(&dir.path().join("other.db"))
        .await
        .unwrap();
    assert_ne!(other.epoch(), &epoch);
}

#[tokio::test]
async fn postgres_nodes_opening_together_agree_on_one_epoch_until_it_is_renewed() {
    let server = PgServer::start().await;
    let opens = (0..4).map(|_| Store::open_postgres(&server.url));
    let nodes: Vec<Store> = futures::future::join_all(opens)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let epoch = nodes[0].epoch().clone();
    assert!(nodes.iter().all(|n| n.epoch() == &epoch));
    summaries_carry_the_epoch(&nodes[1]).await;

    let renewed = Store::new_epoch(Location::Url(&server.url)).await.unwrap();
    assert_ne!(renewed, epoch);
    // Running nodes keep theirs (hence: stop them first); a node started now reads the new one.
    assert_eq!(nodes[2].epoch(), &epoch);
    assert_eq!(
        Store::open_postgres(&server.url).await.unwrap().epoch(),
        &renewed
    );
}
