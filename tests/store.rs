//! The store's contract, written once against [`Store`] and run on both backends (SQLite in a
//! temporary file, Postgres in a throwaway server), plus what only Postgres has to get right:
//! several nodes (separate stores, separate pools) writing the same conversations at once.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "store/directory.rs"]
mod directory;
#[path = "harness/postgres.rs"]
mod pg;

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use pg::PgServer;
use switchboard::{
    protocol::{ClientMsgId, ConvId, ConvKind, EventBody, Seq, UserId},
    server::store::{Appended, NewMessage, NewUser, Outcome, Store, StoreError},
};
use tokio::sync::Barrier;

/// Registers `name` (username key = lower case), display name "<name> D.", password hash
/// "hash-<name>".
async fn user(store: &Store, name: &str) -> UserId {
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

fn msg(conv: ConvId, from: UserId, id: &str, body: &str) -> NewMessage {
    NewMessage {
        conv,
        from,
        client_msg_id: ClientMsgId(id.to_owned()),
        body: body.to_owned(),
    }
}

fn seqs(events: &[switchboard::protocol::Event]) -> Vec<i64> {
    events.iter().map(|e| e.seq.0).collect()
}

/// Every check, in order, on one fresh store.
async fn suite(store: &Store) {
    users(store).await;
    sessions(store).await;
    tokens(store).await;
    conversations(store).await;
    let owner = user(store, "Dora").await;
    directory::directory(store, owner).await;
}

async fn users(store: &Store) {
    let alice = user(store, "Alice").await;
    let clash = store
        .create_user(
            NewUser {
                username: "ALICE",
                username_key: "alice",
                display_name: "Other",
                password_hash: "x",
            },
            100,
        )
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict(_))),
        "a username differing only in case is taken: {clash:?}"
    );

    let (record, hash) = store
        .user_with_password("alice")
        .await
        .unwrap()
        .expect("alice by key");
    assert_eq!(record.id, alice);
    assert_eq!(record.username, "Alice", "case preserved");
    assert_eq!(record.display_name, "Alice D.");
    assert_eq!(hash, "hash-Alice");
    assert!(store.user_with_password("nobody").await.unwrap().is_none());
    assert_eq!(
        store.password_hash(alice).await.unwrap().as_deref(),
        Some("hash-Alice")
    );
    assert!(
        store
            .password_hash(UserId(987_654))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.user_exists(alice).await.unwrap());
    assert!(!store.user_exists(UserId(987_654)).await.unwrap());

    // Batch creation is all or nothing: a taken name in the batch creates no one.
    let batch = |second: &'static str| {
        vec![
            (
                NewUser {
                    username: "Bulk1",
                    username_key: "bulk1",
                    display_name: "Bulk 1",
                    password_hash: "h1",
                },
                b"bulk-token-1".to_vec(),
            ),
            (
                NewUser {
                    username: second,
                    username_key: second,
                    display_name: "Bulk 2",
                    password_hash: "h2",
                },
                b"bulk-token-2".to_vec(),
            ),
        ]
    };
    let failed = store
        .create_users_with_tokens(&batch("alice"), "load", 100)
        .await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    assert!(store.user_with_password("bulk1").await.unwrap().is_none());
    let ids = store
        .create_users_with_tokens(&batch("bulk2"), "load", 100)
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let token = store
        .use_token(b"bulk-token-2", 100)
        .await
        .unwrap()
        .expect("the batch's token");
    assert_eq!(token.user.id, ids[1]);
    assert_eq!(token.user.username, "bulk2");
    assert_eq!(store.tokens(ids[0]).await.unwrap()[0].name, "load");
}

async fn sessions(store: &Store) {
    let carol = user(store, "Carol").await;
    let s1 = store
        .create_session(carol, b"s1", 1_000, 9_000)
        .await
        .unwrap();
    let found = store.session(b"s1").await.unwrap().expect("session s1");
    assert_eq!(found.id, s1);
    assert_eq!(found.user.id, carol);
    assert_eq!(found.user.username, "Carol");
    assert_eq!((found.last_seen_at, found.expires_at), (1_000, 9_000));
    assert!(!found.revoked);
    assert!(store.session(b"no such").await.unwrap().is_none());

    store.touch_session(s1, 1_500).await.unwrap();
    assert_eq!(
        store.session(b"s1").await.unwrap().unwrap().last_seen_at,
        1_500
    );
    store.touch_session(s1, 1_200).await.unwrap();
    assert_eq!(
        store.session(b"s1").await.unwrap().unwrap().last_seen_at,
        1_500,
        "a use never moves back"
    );

    store.revoke_session(s1, 1_600).await.unwrap();
    store.revoke_session(s1, 1_700).await.unwrap();
    assert!(store.session(b"s1").await.unwrap().unwrap().revoked);

    // A new password revokes every other live session, and says which.
    let s2 = store
        .create_session(carol, b"s2", 2_000, 9_000)
        .await
        .unwrap();
    let s3 = store
        .create_session(carol, b"s3", 2_000, 9_000)
        .await
        .unwrap();
    let s4 = store
        .create_session(carol, b"s4", 2_000, 9_000)
        .await
        .unwrap();
    let other = user(store, "Dave").await;
    let theirs = store
        .create_session(other, b"d1", 2_000, 9_000)
        .await
        .unwrap();
    let carols_token = store
        .create_token(carol, "bot", b"ct", 2_000, None)
        .await
        .unwrap();
    let daves_token = store
        .create_token(other, "bot", b"dt", 2_000, None)
        .await
        .unwrap();
    let mut revoked = store
        .set_password(carol, "new-hash", s3, 2_100)
        .await
        .unwrap();
    revoked.sessions.sort_unstable();
    assert_eq!(
        revoked.sessions,
        vec![s2, s4],
        "s1 was already revoked; s3 is kept"
    );
    assert_eq!(revoked.tokens, vec![carols_token], "every token of hers");
    assert!(
        store
            .use_token(b"ct", 2_200)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    let daves = store.use_token(b"dt", 2_200).await.unwrap().unwrap();
    assert_eq!(daves.id, daves_token);
    assert!(!daves.revoked, "another user's token is untouched");
    let by_id = store.session_by_id(s3).await.unwrap().expect("s3 by id");
    assert_eq!((by_id.user.id, by_id.revoked), (carol, false));
    assert!(store.session_by_id(s2).await.unwrap().unwrap().revoked);
    assert!(store.session_by_id(-1).await.unwrap().is_none());
    assert_eq!(
        store.password_hash(carol).await.unwrap().as_deref(),
        Some("new-hash")
    );
    assert!(store.session(b"s2").await.unwrap().unwrap().revoked);
    assert!(!store.session(b"s3").await.unwrap().unwrap().revoked);
    let dave = store.session(b"d1").await.unwrap().unwrap();
    assert_eq!(dave.id, theirs);
    assert!(!dave.revoked, "another user's session is untouched");
}

async fn tokens(store: &Store) {
    let erin = user(store, "Erin").await;
    let frank = user(store, "Frank").await;
    let t1 = store
        .create_token(erin, "laptop", b"t1", 3_000, None)
        .await
        .unwrap();
    let t2 = store
        .create_token(erin, "ci", b"t2", 3_001, Some(9_001))
        .await
        .unwrap();
    let expiring = store.use_token(b"t2", 3_002).await.unwrap().expect("t2");
    assert_eq!(expiring.expires_at, Some(9_001));

    let used = store.use_token(b"t1", 3_500).await.unwrap().expect("t1");
    assert_eq!(used.id, t1);
    assert_eq!(used.user.id, erin);
    assert!(!used.revoked);
    assert_eq!(used.expires_at, None);
    assert!(store.use_token(b"no such", 3_500).await.unwrap().is_none());

    // Newest first; a use not yet flushed to the database still shows.
    let listed = store.tokens(erin).await.unwrap();
    let summary: Vec<_> = listed
        .iter()
        .map(|t| {
            let times = (t.created_at, t.last_used_at, t.expires_at);
            (t.id, t.name.as_str(), times)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (t2, "ci", (3_001, Some(3_002), Some(9_001))),
            (t1, "laptop", (3_000, Some(3_500), None))
        ]
    );

    assert!(
        !store.revoke_token(frank, t2, 3_600).await.unwrap(),
        "not Frank's"
    );
    assert!(store.revoke_token(erin, t1, 3_600).await.unwrap());
    assert!(
        !store.revoke_token(erin, t1, 3_700).await.unwrap(),
        "already revoked"
    );
    let listed: Vec<_> = store
        .tokens(erin)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, vec![t2]);
    assert!(
        store
            .use_token(b"t1", 3_800)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(store.tokens(frank).await.unwrap().is_empty());
}

async fn conversations(store: &Store) {
    let ann = user(store, "Ann").await;
    let bob = user(store, "Bob").await;
    let cat = user(store, "Cat").await;

    // Direct conversations: one per pair, whichever side opens it.
    let (direct, created) = store.open_direct(ann, bob, 1_000).await.unwrap();
    assert!(created);
    assert_eq!(
        store.open_direct(bob, ann, 1_001).await.unwrap(),
        (direct, false)
    );
    let mut members = store.members(direct).await.unwrap();
    members.sort();
    assert_eq!(members, vec![ann, bob]);
    let summary = store.conversations(ann, Some(direct)).await.unwrap();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].kind, ConvKind::Direct);
    assert_eq!(
        summary[0].name, "Bob D.",
        "a direct one is named after the peer"
    );
    assert_eq!(summary[0].peer, Some(bob));
    assert_eq!((summary[0].last_seq, summary[0].read_seq), (Seq(0), Seq(0)));
    assert!(store.room(direct).await.unwrap().is_none());

    // Rooms.
    let created = store.create_room(ann, "lobby", true, 1_000).await.unwrap();
    let lobby = created.conv;
    assert_eq!(created.seq, Seq(1));
    assert_eq!((created.from, created.at), (ann, 1_000));
    assert_eq!(
        created.body,
        EventBody::Created {
            name: "lobby".into()
        }
    );
    let secret = store
        .create_room(bob, "secret", false, 1_000)
        .await
        .unwrap()
        .conv;
    assert_ne!(lobby, secret);
    let listing = store.public_rooms(None, None, 50).await.unwrap().rooms;
    assert_eq!(listing.len(), 1, "{listing:?}");
    assert_eq!((listing[0].id, listing[0].name.as_str()), (lobby, "lobby"));
    assert_eq!(listing[0].members, 1);
    let info = store.room(lobby).await.unwrap().expect("lobby is a room");
    assert!(info.public);
    assert_eq!(info.owner, ann);
    assert!(!store.room(secret).await.unwrap().unwrap().public);
    assert_eq!(store.members(lobby).await.unwrap(), vec![ann]);

    // Membership changes are events at the next seqs; a no-op writes nothing (no seq used).
    let joined = store
        .add_member(lobby, bob, bob, EventBody::Joined {}, 2_000)
        .await
        .unwrap()
        .expect("bob joins");
    assert_eq!((joined.conv, joined.seq, joined.from), (lobby, Seq(2), bob));
    assert!(
        store
            .add_member(lobby, bob, bob, EventBody::Joined {}, 2_000)
            .await
            .unwrap()
            .is_none()
    );
    let invited = store
        .add_member(lobby, cat, ann, EventBody::Invited { user: cat }, 2_000)
        .await
        .unwrap()
        .expect("cat invited");
    assert_eq!(invited.seq, Seq(3));
    assert!(store.is_member(lobby, cat).await.unwrap());
    let removed = store
        .remove_member(lobby, cat, ann, EventBody::Removed { user: cat }, 2_000)
        .await
        .unwrap()
        .expect("cat removed");
    assert_eq!(removed.seq, Seq(4));
    assert!(
        store
            .remove_member(lobby, cat, ann, EventBody::Removed { user: cat }, 2_000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.is_member(lobby, cat).await.unwrap());
    assert_eq!(store.last_seq(lobby).await.unwrap(), Seq(4));
    let history = store.events_after(lobby, Seq(0), 100).await.unwrap();
    assert_eq!(seqs(&history), vec![1, 2, 3, 4]);
    assert_eq!(history[2].body, EventBody::Invited { user: cat });
    assert_eq!(history[2].from, ann);
    assert_eq!(history[3].body, EventBody::Removed { user: cat });
    assert_eq!(history[1].body, EventBody::Joined {});
    let first = store.member_list(lobby, 1).await.unwrap();
    assert_eq!(first.len(), 1, "the list is cut at the limit: {first:?}");
    assert_eq!(first[0].user, ann, "by username");
    let names: Vec<_> = store
        .member_list(lobby, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user, m.username, m.display_name))
        .collect();
    assert_eq!(
        names,
        vec![
            (ann, "Ann".to_owned(), "Ann D.".to_owned()),
            (bob, "Bob".to_owned(), "Bob D.".to_owned())
        ]
    );

    // A batch over two conversations: each gets contiguous seqs in batch order; a retry inside
    // the batch answers with the first copy; a non-member stores nothing.
    assert!(store.append_messages(&[], 3_000).await.unwrap().is_empty());
    let batch = [
        msg(lobby, ann, "a-1", "hello lobby"),
        msg(direct, ann, "a-2", "hello bob"),
        msg(lobby, bob, "b-1", "hi ann"),
        msg(lobby, ann, "a-1", "hello lobby (retry)"),
        msg(lobby, cat, "c-1", "let me in"),
        msg(lobby, ann, "a-3", "anyone?"),
    ];
    let refs: Vec<&NewMessage> = batch.iter().collect();
    let out = store.append_messages(&refs, 3_000).await.unwrap();
    let stored = |conv, seq| Appended {
        conv,
        seq: Seq(seq),
        at: 3_000,
        outcome: Outcome::Stored,
    };
    assert_eq!(
        out,
        vec![
            stored(lobby, 5),
            stored(direct, 1),
            stored(lobby, 6),
            Appended {
                outcome: Outcome::Duplicate,
                ..stored(lobby, 5)
            },
            Appended {
                conv: lobby,
                seq: Seq(0),
                at: 3_000,
                outcome: Outcome::NotMember
            },
            stored(lobby, 7),
        ]
    );

    // Retries in a later batch find the original (its conversation, seq and time), even when
    // the retry names another conversation.
    let batch = [
        msg(lobby, ann, "a-1", "hello lobby (second retry)"),
        msg(lobby, ann, "a-2", "hello bob, misaddressed retry"),
        msg(lobby, bob, "b-2", "new"),
    ];
    let refs: Vec<&NewMessage> = batch.iter().collect();
    let out = store.append_messages(&refs, 4_000).await.unwrap();
    assert_eq!(
        out,
        vec![
            Appended {
                outcome: Outcome::Duplicate,
                ..stored(lobby, 5)
            },
            Appended {
                outcome: Outcome::Duplicate,
                ..stored(direct, 1)
            },
            Appended {
                conv: lobby,
                seq: Seq(8),
                at: 4_000,
                outcome: Outcome::Stored
            },
        ]
    );

    // Only non-members: nothing stored, no seq used.
    let batch = [msg(lobby, cat, "c-2", "x"), msg(direct, cat, "c-3", "y")];
    let refs: Vec<&NewMessage> = batch.iter().collect();
    let out = store.append_messages(&refs, 4_500).await.unwrap();
    assert!(
        out.iter().all(|a| a.outcome == Outcome::NotMember),
        "{out:?}"
    );
    assert_eq!(store.last_seq(lobby).await.unwrap(), Seq(8));
    assert_eq!(store.last_seq(direct).await.unwrap(), Seq(1));

    let history = store.events_after(lobby, Seq(4), 100).await.unwrap();
    assert_eq!(seqs(&history), vec![5, 6, 7, 8]);
    assert_eq!(
        history[0].body,
        EventBody::Message {
            client_msg_id: ClientMsgId("a-1".into()),
            body: "hello lobby".into()
        },
        "the first copy is the one kept"
    );
    assert_eq!((history[0].from, history[0].at), (ann, 3_000));
    assert_eq!((history[3].from, history[3].at), (bob, 4_000));
    let direct_history = store.events_after(direct, Seq(0), 100).await.unwrap();
    assert_eq!(direct_history.len(), 1);
    assert_eq!(
        direct_history[0].body,
        EventBody::Message {
            client_msg_id: ClientMsgId("a-2".into()),
            body: "hello bob".into()
        }
    );

    // Paging, both ways, always ascending.
    assert_eq!(
        seqs(&store.events_after(lobby, Seq(2), 2).await.unwrap()),
        vec![3, 4]
    );
    assert_eq!(
        seqs(&store.events_before(lobby, Seq(6), 3).await.unwrap()),
        vec![3, 4, 5]
    );
    assert_eq!(
        seqs(&store.events_before(lobby, Seq(3), 10).await.unwrap()),
        vec![1, 2]
    );
    assert!(
        store
            .events_before(lobby, Seq(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .events_after(lobby, Seq(8), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .events_after(ConvId(987_654), Seq(0), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Read positions only move forward.
    assert_eq!(store.set_read(ann, lobby, Seq(6)).await.unwrap(), Seq(6));
    assert_eq!(store.set_read(ann, lobby, Seq(3)).await.unwrap(), Seq(6));
    assert_eq!(store.set_read(ann, lobby, Seq(8)).await.unwrap(), Seq(8));
    assert_eq!(store.set_read(bob, lobby, Seq(2)).await.unwrap(), Seq(2));
    let mine = store.conversations(ann, None).await.unwrap();
    let ids: Vec<ConvId> = mine.iter().map(|c| c.id).collect();
    let mut expected = vec![direct, lobby];
    expected.sort();
    assert_eq!(ids, expected, "ann's conversations, by id");
    let lobby_summary = mine.iter().find(|c| c.id == lobby).unwrap();
    assert_eq!(lobby_summary.kind, ConvKind::Room);
    assert_eq!(lobby_summary.name, "lobby");
    assert!(lobby_summary.public);
    assert_eq!(lobby_summary.peer, Some(ann), "a room's peer is its owner");
    assert_eq!(
        (lobby_summary.last_seq, lobby_summary.read_seq),
        (Seq(8), Seq(8))
    );
    let direct_summary = mine.iter().find(|c| c.id == direct).unwrap();
    assert_eq!(
        (direct_summary.last_seq, direct_summary.read_seq),
        (Seq(1), Seq(0))
    );
    assert_eq!(
        store.conversations(bob, Some(lobby)).await.unwrap()[0].read_seq,
        Seq(2)
    );
    assert!(store.conversations(cat, None).await.unwrap().is_empty());

    assert_eq!(store.last_seq(ConvId(987_654)).await.unwrap(), Seq(0));

    // Contacts: everyone sharing a conversation (Cat left the lobby).
    assert_eq!(store.contacts(ann).await.unwrap(), vec![bob]);
    assert_eq!(store.contacts(bob).await.unwrap(), vec![ann]);
    assert!(store.contacts(cat).await.unwrap().is_empty());

    // Renaming is an event too.
    let renamed = store.rename_room(lobby, ann, "hall", 5_000).await.unwrap();
    assert_eq!(
        (renamed.conv, renamed.seq, renamed.at),
        (lobby, Seq(9), 5_000)
    );
    assert_eq!(
        renamed.body,
        EventBody::Renamed {
            name: "hall".into()
        }
    );
    assert_eq!(
        store.conversations(ann, Some(lobby)).await.unwrap()[0].name,
        "hall"
    );
    assert_eq!(
        store.public_rooms(None, None, 50).await.unwrap().rooms[0].name,
        "hall"
    );
    assert_eq!(
        store.events_after(lobby, Seq(8), 10).await.unwrap()[0].body,
        renamed.body
    );

    // What moved since a moment: each such conversation with its newest seq, by id.
    let mut everything = vec![(lobby, Seq(9)), (direct, Seq(1)), (secret, Seq(1))];
    everything.sort();
    assert_eq!(store.changed_since(0).await.unwrap(), everything);
    let mut since_3000 = vec![(lobby, Seq(9)), (direct, Seq(1))];
    since_3000.sort();
    assert_eq!(store.changed_since(3_000).await.unwrap(), since_3000);
    assert_eq!(
        store.changed_since(3_001).await.unwrap(),
        vec![(lobby, Seq(9))]
    );
    assert_eq!(
        store.changed_since(5_000).await.unwrap(),
        vec![(lobby, Seq(9))]
    );
    assert!(store.changed_since(5_001).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("store.db"))
        .await
        .unwrap();
    assert!(store.ping_takes_write_lock());
    store.ping().await.unwrap();
    suite(&store).await;
}

#[tokio::test]
async fn postgres() {
    let server = PgServer::start().await;
    let store = Store::open_postgres(&server.url).await.unwrap();
    assert!(!store.ping_takes_write_lock());
    store.ping().await.unwrap();
    suite(&store).await;
}

/// `n` stores on one database: what `n` cluster nodes have.
async fn nodes(url: &str, n: usize) -> Vec<Store> {
    let mut stores = Vec::with_capacity(n);
    for _ in 0..n {
        stores.push(Store::open_postgres(url).await.unwrap());
    }
    stores
}

/// Many tasks on four nodes append to two rooms at once, in batches that mix both rooms in
/// either order, while membership changes land in the same rooms: every seq of each room is
/// used exactly once, with no gap, and each answer names the event that is stored at its seq.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_append_to_one_conversation_without_gaps() {
    const NODES: usize = 4;
    const TASKS_PER_NODE: usize = 6;
    const ROUNDS: usize = 15;

    let server = PgServer::start().await;
    let stores = nodes(&server.url, NODES).await;
    let owner = user(&stores[0], "Owner").await;
    let mut senders = Vec::new();
    for i in 0..NODES * TASKS_PER_NODE {
        senders.push(user(&stores[0], &format!("sender{i}")).await);
    }
    let drifter = user(&stores[0], "Drifter").await;
    let room_a = stores[0]
        .create_room(owner, "a", true, 1)
        .await
        .unwrap()
        .conv;
    let room_b = stores[0]
        .create_room(owner, "b", true, 1)
        .await
        .unwrap()
        .conv;
    for &sender in &senders {
        for room in [room_a, room_b] {
            stores[0]
                .add_member(room, sender, sender, EventBody::Joined {}, 1)
                .await
                .unwrap()
                .unwrap();
        }
    }
    let before_a = stores[0].last_seq(room_a).await.unwrap().0;
    let before_b = stores[0].last_seq(room_b).await.unwrap().0;

    let start = Barrier::new(NODES * TASKS_PER_NODE + 1);
    let start = Arc::new(start);
    let mut tasks = Vec::new();
    for (t, &sender) in senders.iter().enumerate() {
        let store = stores[t % NODES].clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut answers: Vec<(String, Appended)> = Vec::new();
            for round in 0..ROUNDS {
                let size = 1 + (t + round) % 5;
                let batch: Vec<NewMessage> = (0..size)
                    .map(|k| {
                        let room = if (t + round + k) % 2 == 0 {
                            room_a
                        } else {
                            room_b
                        };
                        let id = format!("{t}-{round}-{k}");
                        msg(room, sender, &id, &id)
                    })
                    .collect();
                let refs: Vec<&NewMessage> = batch.iter().collect();
                let out = store
                    .append_messages(&refs, 10 + round as i64)
                    .await
                    .unwrap();
                assert_eq!(out.len(), size);
                // Within a batch, one room's messages take ascending seqs in batch order.
                for room in [room_a, room_b] {
                    let in_room: Vec<i64> = out
                        .iter()
                        .filter(|a| a.conv == room)
                        .map(|a| a.seq.0)
                        .collect();
                    assert!(in_room.windows(2).all(|w| w[1] == w[0] + 1), "{in_room:?}");
                }
                for (m, a) in batch.into_iter().zip(out) {
                    assert_eq!(a.outcome, Outcome::Stored, "{a:?}");
                    assert_eq!(a.conv, m.conv);
                    answers.push((m.client_msg_id.0, a));
                }
            }
            answers
        }));
    }
    // Membership changes of one user, from yet another node, between the messages.
    let churn = {
        let store = stores[NODES - 1].clone();
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            let mut seqs = Vec::new();
            for _ in 0..10 {
                for room in [room_a, room_b] {
                    let joined = store
                        .add_member(room, drifter, drifter, EventBody::Joined {}, 20)
                        .await
                        .unwrap()
                        .unwrap();
                    let left = store
                        .remove_member(room, drifter, drifter, EventBody::Left {}, 21)
                        .await
                        .unwrap()
                        .unwrap();
                    seqs.push((room, joined.seq.0));
                    seqs.push((room, left.seq.0));
                }
            }
            seqs
        })
    };
    let began = Instant::now();
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.unwrap());
    }
    let churn = churn.await.unwrap();
    let took = began.elapsed();

    // Each answer's seq holds exactly that message.
    let mut claimed: BTreeMap<(ConvId, i64), String> = BTreeMap::new();
    for (id, a) in &answers {
        let previous = claimed.insert((a.conv, a.seq.0), id.clone());
        assert!(
            previous.is_none(),
            "seq {:?} handed out twice",
            (a.conv, a.seq)
        );
    }
    for &(room, seq) in &churn {
        let previous = claimed.insert((room, seq), "churn".into());
        assert!(previous.is_none(), "seq {:?} handed out twice", (room, seq));
    }
    for (room, before) in [(room_a, before_a), (room_b, before_b)] {
        let events = stores[1]
            .events_after(room, Seq(before), 100_000)
            .await
            .unwrap();
        let last = stores[2].last_seq(room).await.unwrap().0;
        assert_eq!(
            seqs(&events),
            (before + 1..=last).collect::<Vec<_>>(),
            "every seq after the setup used once, no gap"
        );
        let claimed_here: Vec<i64> = claimed
            .keys()
            .filter(|(c, _)| *c == room)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(
            claimed_here,
            seqs(&events),
            "every stored event was answered for"
        );
        for event in &events {
            let expected = &claimed[&(room, event.seq.0)];
            match &event.body {
                EventBody::Message { client_msg_id, .. } => {
                    assert_eq!(&client_msg_id.0, expected)
                }
                other => assert_eq!(expected, "churn", "{other:?}"),
            }
        }
    }
    let messages = answers.len();
    let total = messages + churn.len();
    eprintln!(
        "{NODES} nodes, {} tasks: {messages} messages and {} membership events in {took:?}; \
         room a seqs {}..={}, room b seqs {}..={}",
        NODES * TASKS_PER_NODE,
        churn.len(),
        before_a + 1,
        stores[0].last_seq(room_a).await.unwrap().0,
        before_b + 1,
        stores[0].last_seq(room_b).await.unwrap().0,
    );
    assert_eq!(claimed.len(), total);
}

/// The same send reaching two nodes at once is stored once, and both answer with its seq. Also
/// when the two copies name different conversations (then they do not queue on one row lock:
/// the loser hits the unique index and runs its transaction again).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_store_a_raced_retry_once() {
    let server = PgServer::start().await;
    let stores = nodes(&server.url, 2).await;
    let sender = user(&stores[0], "Racer").await;
    let other = user(&stores[0], "Other").await;
    let room = stores[0]
        .create_room(sender, "one", true, 1)
        .await
        .unwrap()
        .conv;
    let elsewhere = stores[0]
        .create_room(sender, "two", true, 1)
        .await
        .unwrap()
        .conv;
    for r in [room, elsewhere] {
        stores[0]
            .add_member(r, other, other, EventBody::Joined {}, 1)
            .await
            .unwrap()
            .unwrap();
    }

    const ROUNDS: usize = 30;
    for round in 0..ROUNDS {
        let id = format!("race-{round}");
        // Odd rounds: the second copy is misaddressed, so the two do not share a row lock.
        let second_conv = if round % 2 == 0 { room } else { elsewhere };
        let barrier = Arc::new(Barrier::new(2));
        let run = |store: Store, batch: Vec<NewMessage>, at: i64| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let refs: Vec<&NewMessage> = batch.iter().collect();
                store.append_messages(&refs, at).await.unwrap()
            })
        };
        let first = run(
            stores[0].clone(),
            vec![
                msg(room, sender, &id, "first copy"),
                msg(room, other, &format!("o-{round}"), "filler"),
            ],
            100,
        );
        let second = run(
            stores[1].clone(),
            vec![
                msg(elsewhere, other, &format!("p-{round}"), "filler"),
                msg(second_conv, sender, &id, "second copy"),
            ],
            200,
        );
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        let (a, b) = (first[0], second[1]);
        let count = |o: Outcome| [a.outcome, b.outcome].iter().filter(|&&x| x == o).count();
        assert_eq!(
            (count(Outcome::Stored), count(Outcome::Duplicate)),
            (1, 1),
            "round {round}: {a:?} {b:?}"
        );
        assert_eq!(
            (a.conv, a.seq, a.at),
            (b.conv, b.seq, b.at),
            "round {round}: both name the original"
        );
        assert_eq!(first[1].outcome, Outcome::Stored);
        assert_eq!(second[0].outcome, Outcome::Stored);
    }

    // Stored once each, wherever it went.
    let mut copies = BTreeMap::<String, usize>::new();
    for r in [room, elsewhere] {
        for event in stores[1].events_after(r, Seq(0), 10_000).await.unwrap() {
            if let EventBody::Message { client_msg_id, .. } = event.body
                && event.from == sender
            {
                *copies.entry(client_msg_id.0).or_default() += 1;
            }
        }
    }
    assert_eq!(copies.len(), ROUNDS);
    assert!(copies.values().all(|&n| n == 1), "{copies:?}");
}

/// Two nodes opening the same direct conversation at once get one conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_open_one_direct_conversation_per_pair() {
    let server = PgServer::start().await;
    let stores = nodes(&server.url, 2).await;
    let mut people = Vec::new();
    for i in 0..12 {
        people.push(user(&stores[0], &format!("p{i}")).await);
    }
    let pairs: Vec<(UserId, UserId)> = people
        .chunks(2)
        .map(|p| (p[0], p[1]))
        .chain(people.windows(2).skip(1).step_by(2).map(|p| (p[0], p[1])))
        .collect();
    for &(a, b) in &pairs {
        let barrier = Arc::new(Barrier::new(2));
        let open = |store: Store, x: UserId, y: UserId| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.open_direct(x, y, 7).await.unwrap()
            })
        };
        let one = open(stores[0].clone(), a, b);
        let two = open(stores[1].clone(), b, a);
        let (one, two) = (one.await.unwrap(), two.await.unwrap());
        assert_eq!(one.0, two.0, "one conversation for {a:?} and {b:?}");
        assert!(
            one.1 ^ two.1,
            "exactly one side created it: {one:?} {two:?}"
        );
        let mut members = stores[1].members(one.0).await.unwrap();
        members.sort();
        let mut expected = vec![a, b];
        expected.sort();
        assert_eq!(members, expected);
    }
    for &(a, b) in &pairs {
        let listed = stores[0].conversations(a, None).await.unwrap();
        assert_eq!(
            listed.iter().filter(|c| c.peer == Some(b)).count(),
            1,
            "{a:?} has one conversation with {b:?}"
        );
    }
}

/// Token uses recorded on one node reach the database (and so every other node) in the
/// background flush.
#[tokio::test]
async fn postgres_token_uses_are_flushed() {
    let server = PgServer::start().await;
    let stores = nodes(&server.url, 2).await;
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
