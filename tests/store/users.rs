//! Users: a name is taken whatever its case, lookups by key and id, and bulk creation with
//! tokens, all or nothing.

use switchboard::{
    protocol::UserId,
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

on_both!(
    a_name_is_taken_whatever_its_case_and_found_by_its_key,
    a_batch_of_users_with_tokens_is_all_or_nothing,
);
