//! Users: a name is taken whatever its case, lookups by key and id, bulk creation with
//! tokens, all or nothing, and a display-name change written into every conversation.

use switchboard::{
    protocol::{EventBody, Seq, UserId},
    server::store::{NewUser, Store, StoreError},
};

use crate::common::user;

/// A username differing only in case is taken; a user is found by key, with its password hash.
async fn a_name_is_taken_whatever_its_case_and_found_by_its_key(store: &Store) {
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
}

/// Batch creation is all or nothing: a taken name in the batch creates no one.
async fn a_batch_of_users_with_tokens_is_all_or_nothing(store: &Store) {
    user(store, "Alice").await;
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

/// A new display name is stored with a `profile` event at the next seq of each of the user's
/// conversations (and no other); empty means the username; no such user changes nothing.
async fn a_display_name_change_is_an_event_in_every_conversation_of_the_user(store: &Store) {
    let ann = user(store, "ann").await;
    let bob = user(store, "bob").await;
    let lobby = store
        .create_room(ann, "lobby", true, 10)
        .await
        .unwrap()
        .conv;
    let (direct, _) = store.open_direct(ann, bob, 11).await.unwrap();
    let elsewhere = store
        .create_room(bob, "elsewhere", true, 12)
        .await
        .unwrap()
        .conv;
    let lobby_before = store.last_seq(lobby).await.unwrap();
    let (stored, events) = store
        .set_display_name(ann, "Ann Lee", 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, "Ann Lee");
    let mut convs: Vec<_> = events.iter().map(|e| e.conv).collect();
    convs.sort();
    let mut want = vec![lobby, direct];
    want.sort();
    assert_eq!(convs, want);
    let lobby_event = events.iter().find(|e| e.conv == lobby).unwrap();
    assert_eq!(lobby_event.seq, Seq(lobby_before.0 + 1));
    assert_eq!((lobby_event.from, lobby_event.at), (ann, 20));
    // What was stored reads back as it was announced.
    let stored_events = store.events_after(lobby, lobby_before, 10).await.unwrap();
    assert_eq!(stored_events, vec![lobby_event.clone()]);
    assert_eq!(
        store
            .events_after(elsewhere, Seq(0), 10)
            .await
            .unwrap()
            .len(),
        1,
        "only the room's creation: ann is not in it"
    );
    let members = store.member_list(lobby, 10).await.unwrap();
    assert_eq!(members[0].display_name, "Ann Lee");
    let summary = &store.conversations(bob, Some(direct)).await.unwrap()[0];
    assert_eq!(summary.name, "Ann Lee");
    // A display-name change does not count as activity in the list order.
    assert_eq!(summary.last_at, 11);

    let (stored, events) = store.set_display_name(ann, "", 30).await.unwrap().unwrap();
    assert_eq!(stored, "ann");
    assert!(matches!(
        &events[0].body,
        EventBody::Profile { display_name } if display_name == "ann"
    ));
    assert!(
        store
            .set_display_name(UserId(987_654), "ghost", 40)
            .await
            .unwrap()
            .is_none()
    );
}

on_both!(
    a_name_is_taken_whatever_its_case_and_found_by_its_key,
    a_batch_of_users_with_tokens_is_all_or_nothing,
    a_display_name_change_is_an_event_in_every_conversation_of_the_user,
);
