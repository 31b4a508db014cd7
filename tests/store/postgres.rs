//! Postgres as a shared, remote database: token uses reach every node, an outage fails fast
//! and heals, and a newer schema is refused.

use std::time::{Duration, Instant};

use switchboard::{
    protocol::Seq,
    server::{
        shutdown::Shutdown,
        store::{Outcome, Store, StoreError},
    },
};

use crate::{
    common::{msg, user},
    nodes::nodes,
    pg::PgServer,
};

/// Token uses recorded on one node reach the database (and so every other node) in the
/// background flush.
#[tokio::test]
async fn postgres_token_uses_are_flushed() {
    let server = PgServer::start().await;
    let stores = nodes(&server.url, 2).await;
    stores[0].start_upkeep(&Shutdown::new());
    let owner = user(&stores[0], "Tess").await;
    let id = stores[0]
        .create_token(owner, "cli", b"tok", 50, None)
        .await
        .unwrap();
    stores[0].use_token(b"tok", 60).await.unwrap().unwrap();
    assert_eq!(
        stores[0].tokens(owner).await.unwrap()[0].last_used_at,
        Some(60)
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = stores[1].tokens(owner).await.unwrap();
        assert_eq!(seen[0].id, id);
        if seen[0].last_used_at == Some(60) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the use never reached the database"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Uses not yet flushed are written when shutdown begins, and the upkeep then ends (so a
/// server's drain waits for that write instead of losing it with the process).
#[tokio::test]
async fn postgres_token_uses_are_written_at_shutdown() {
    let server = PgServer::start().await;
    let stores = nodes(&server.url, 2).await;
    let shutdown = Shutdown::new();
    stores[0].start_upkeep(&shutdown);
    let owner = user(&stores[0], "Uma").await;
    stores[0]
        .create_token(owner, "cli", b"tok", 50, None)
        .await
        .unwrap();
    stores[0].use_token(b"tok", 60).await.unwrap().unwrap();
    shutdown.trigger();
    assert!(
        shutdown.drained(Duration::from_secs(30)).await,
        "the upkeep did not end at shutdown"
    );
    assert_eq!(
        stores[1].tokens(owner).await.unwrap()[0].last_used_at,
        Some(60)
    );
}

/// With Postgres down, calls fail fast with a database error (no hang); once it is back, the
/// same store works again without being reopened.
#[tokio::test]
async fn postgres_down_fails_fast_and_recovers() {
    let mut server = PgServer::start().await;
    let store = Store::open_postgres(&server.url).await.unwrap();
    let owner = user(&store, "Uma").await;
    let room = store.create_room(owner, "r", true, 1).await.unwrap().conv;
    let first = msg(room, owner, "m-1", "before");
    store.append_messages(&[&first], 2).await.unwrap();

    server.stop();
    let began = Instant::now();
    let down = store.ping().await;
    assert!(matches!(down, Err(StoreError::Database(_))), "{down:?}");
    let ping_took = began.elapsed();
    let began = Instant::now();
    let second = msg(room, owner, "m-2", "during");
    let failed = store.append_messages(&[&second], 3).await;
    assert!(matches!(failed, Err(StoreError::Database(_))), "{failed:?}");
    let send_took = began.elapsed();
    eprintln!("with Postgres down: ping failed in {ping_took:?}, a send in {send_took:?}");
    for took in [ping_took, send_took] {
        assert!(took < Duration::from_secs(5), "failing took {took:?}");
    }

    server.restart();
    store.ping().await.expect("ping after restart");
    let out = store.append_messages(&[&second], 4).await.unwrap();
    assert_eq!(out[0].outcome, Outcome::Stored);
    assert_eq!(out[0].seq, Seq(3), "nothing was stored while it was down");
    let retry = store.append_messages(&[&first], 5).await.unwrap();
    assert_eq!(
        (retry[0].outcome, retry[0].seq),
        (Outcome::Duplicate, Seq(2))
    );
}

/// A schema that a newer release migrated is refused before anything is written.
#[tokio::test]
async fn postgres_refuses_a_newer_schema() {
    let server = PgServer::start().await;
    drop(Store::open_postgres(&server.url).await.unwrap());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&server.url)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'future', TRUE, '\\x00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let refused = Store::open_postgres(&server.url).await;
    assert!(
        matches!(&refused, Err(StoreError::Refused(why)) if why.contains("9999")),
        "{:?}",
        refused.err()
    );
}
