//! The Postgres logical backup through the store's own interface: more rows than fit one page
//! come back the same, into another (empty) database, under a new epoch.

use switchboard::{
    protocol::{EventBody, Seq},
    server::store::{Location, NewMessage, Store},
};

use crate::{
    common::{msg, user},
    pg::PgServer,
};

/// More than two pages of rows (500 each) of events.
const MESSAGES: usize = 1_234;

#[tokio::test]
async fn postgres_backup_and_restore_round_trip_more_rows_than_one_page() {
    let server = PgServer::start().await;
    let store = Store::open_postgres(&server.url).await.unwrap();
    let owner = user(&store, "Pam").await;
    let guest = user(&store, "Quinn").await;
    let room = store.create_room(owner, "big", true, 1).await.unwrap().conv;
    store
        .add_member(room, guest, guest, EventBody::Joined {}, 2)
        .await
        .unwrap();
    let session = store
        .create_session(guest, b"cookie", 3, 9_999)
        .await
        .unwrap();
    store
        .create_token(owner, "cli", b"tok", 4, Some(99))
        .await
        .unwrap();
    store.set_read(guest, room, Seq(7)).await.unwrap();
    let batch: Vec<NewMessage> = (0..MESSAGES)
        .map(|i| {
            msg(
                room,
                owner,
                &format!("m-{i}"),
                &format!("message {i} \"quoted\" \\ é"),
            )
        })
        .collect();
    for chunk in batch.chunks(200) {
        let refs: Vec<&NewMessage> = chunk.iter().collect();
        store.append_messages(&refs, 10).await.unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.jsonl");
    let bytes = Store::backup(Location::Url(&server.url), &file)
        .await
        .unwrap();
    assert_eq!(bytes, std::fs::metadata(&file).unwrap().len());
    let again = Store::backup(Location::Url(&server.url), &file).await;
    assert!(again.is_err(), "a backup never overwrites a file");

    // Into another database of the same server: the store's own is still in use here.
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&server.url)
        .await
        .unwrap();
    sqlx::query("CREATE DATABASE copy")
        .execute(&mut admin)
        .await
        .unwrap();
    let copy_url = server.url.replace("/switchboard", "/copy");
    let restored = Store::restore(Location::Url(&copy_url), &file)
        .await
        .unwrap();
    assert!(restored.kept.is_none());
    let copy = Store::open_postgres(&copy_url).await.unwrap();
    assert_eq!(Some(copy.epoch()), restored.epoch.as_ref());
    assert_ne!(copy.epoch(), store.epoch(), "a restore starts a new epoch");

    let all = |s: Store| async move { s.events_after(room, Seq(0), 10_000).await.unwrap() };
    let (original, back) = (all(store.clone()).await, all(copy.clone()).await);
    assert_eq!(
        back.len(),
        MESSAGES + 2,
        "created, joined and every message"
    );
    assert_eq!(back, original);
    let found = copy.session(b"cookie").await.unwrap().expect("the session");
    assert_eq!(
        (found.id, found.user.id, found.expires_at),
        (session, guest, 9_999)
    );
    let tokens = copy.tokens(owner).await.unwrap();
    assert_eq!((tokens.len(), tokens[0].expires_at), (1, Some(99)));
    assert_eq!(
        copy.use_token(b"tok", 5).await.unwrap().unwrap().user.id,
        owner
    );
    let summary = &copy.conversations(guest, Some(room)).await.unwrap()[0];
    assert_eq!(summary.read_seq, Seq(7));

    // New rows get ids past the restored ones.
    let newcomer = user(&copy, "Rae").await;
    assert!(newcomer > guest);
    let next_room = copy.create_room(newcomer, "after", true, 20).await.unwrap();
    assert!(next_room.conv > room);
}
