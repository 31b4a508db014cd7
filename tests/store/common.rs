//! What the store tests share: a fresh store of either backend, a user, a message, and the
//! macro that runs one check on both backends.

use switchboard::{
    protocol::{ClientMsgId, ConvId, Event, UserId},
    server::store::{NewMessage, NewUser, Store},
};

use crate::pg::PgServer;

/// For each check `name` (an `async fn name(&Store)` in scope), a module `name` with the tests
/// `sqlite` and `postgres`, which run it on a fresh store of each backend.
macro_rules! on_both {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn sqlite() {
                let (_dir, store) = $crate::common::sqlite().await;
                super::$check(&store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let (_server, store) = $crate::common::postgres().await;
                super::$check(&store).await;
            }
        }
    )*};
}

/// A fresh SQLite store in a temporary directory (kept alive by the first half), checked to
/// answer.
pub async fn sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("store.db"))
        .await
        .unwrap();
    assert!(store.ping_takes_write_lock());
    store.ping().await.unwrap();
    (dir, store)
}

/// A fresh Postgres store on a throwaway server (kept alive by the first half), checked to
/// answer.
pub async fn postgres() -> (PgServer, Store) {
    let server = PgServer::start().await;
    let store = Store::open_postgres(&server.url).await.unwrap();
    assert!(!store.ping_takes_write_lock());
    store.ping().await.unwrap();
    (server, store)
}

/// Registers `name` (username key = lower case), display name "<name> D.", password hash
/// "hash-<name>".
pub async fn user(store: &Store, name: &str) -> UserId {
    let key = name.to_lowercase();
    let display = format!("{name} D.");
    let hash = format!("hash-{name}");
    store
        .create_user(
            NewUser {
                username: name,
                username_key: &key,
                display_name: &display,
                password_hash: &hash,
            },
            100,
        )
        .await
        .expect("create user")
        .id
}

pub fn msg(conv: ConvId, from: UserId, id: &str, body: &str) -> NewMessage {
    NewMessage {
        conv,
        from,
        client_msg_id: ClientMsgId(id.to_owned()),
        body: body.to_owned(),
        reply_to: None,
    }
}

pub fn seqs(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.seq.0).collect()
}
