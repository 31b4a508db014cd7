//! Sessions: found by the hash of their token, touched forward only, revoked; and what a new
//! password revokes.

use switchboard::{
    protocol::UserId,
    server::store::{CredentialRowId, Store},
};

use crate::common::user;

/// Carol, with a session `s1` (token `s1`, used at 1 000, expiring at 9 000).
async fn carol_and_her_first_session(store: &Store) -> (UserId, CredentialRowId) {
    let carol = user(store, "Carol").await;
    let s1 = store
        .create_session(carol, b"s1", 1_000, 9_000)
        .await
        .unwrap();
    (carol, s1)
}

/// A session is found by its token's hash, its use never moves back, and revoking is
/// idempotent.
async fn a_session_is_found_touched_forward_only_and_revoked(store: &Store) {
    let (carol, s1) = carol_and_her_first_session(store).await;
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
}

/// A new password revokes every other live session and every token of the user, and says
/// which; another user's are untouched.
async fn a_new_password_revokes_every_other_session_and_every_token(store: &Store) {
    // Her first session is revoked before the password changes.
    let (carol, s1) = carol_and_her_first_session(store).await;
    store.revoke_session(s1, 1_600).await.unwrap();
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

on_both!(
    a_session_is_found_touched_forward_only_and_revoked,
    a_new_password_revokes_every_other_session_and_every_token,
);
