//! Access tokens: found by the hash of their value, listed newest first with their last use
//! (also one not yet flushed), revoked by their owner only.

use switchboard::{
    protocol::UserId,
    server::store::{CredentialRowId, Store},
};

use crate::common::user;

/// Erin with a token `t1` ("laptop", no expiry) and `t2` ("ci", expiring), and Frank.
async fn erin_and_frank(store: &Store) -> (UserId, UserId, CredentialRowId, CredentialRowId) {
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
    (erin, frank, t1, t2)
}

/// A token is found by its hash with its expiry, and listed newest first with its last use.
async fn a_token_is_found_by_its_hash_and_listed_with_its_last_use(store: &Store) {
    let (erin, _, t1, t2) = erin_and_frank(store).await;
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
}

/// Only the owner revokes a token, once; a revoked token is unlisted and found as revoked.
async fn a_token_is_revoked_by_its_owner_only_and_then_unlisted(store: &Store) {
    let (erin, frank, t1, t2) = erin_and_frank(store).await;
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

on_both!(
    a_token_is_found_by_its_hash_and_listed_with_its_last_use,
    a_token_is_revoked_by_its_owner_only_and_then_unlisted,
);
