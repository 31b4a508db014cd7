//! Notification settings in the store, on both backends: the defaults, a member's level and
//! mute per conversation (in their summaries, nobody else's), refused for a non-member, gone
//! with the membership; "do not disturb" per user.

use switchboard::{
    protocol::{ConvId, EventBody, NotifyLevel, NotifySettings, UserId},
    server::store::Store,
};

use crate::conversations::{Convs, convs};

async fn settings_of(store: &Store, user: UserId, conv: ConvId) -> Option<NotifySettings> {
    let list = store.conversations(user, Some(conv)).await.unwrap();
    list.first().map(|s| s.notify)
}

async fn settings_are_per_member_and_conversation(store: &Store) {
    let Convs {
        ann,
        bob,
        cat,
        direct,
        lobby,
        secret,
    } = convs(store).await;
    assert_eq!(
        settings_of(store, ann, lobby).await,
        Some(NotifySettings::default())
    );
    let loud = NotifySettings {
        level: NotifyLevel::All,
        muted: false,
    };
    let muted = NotifySettings {
        level: NotifyLevel::None,
        muted: true,
    };
    assert!(store.set_notify(ann, lobby, loud).await.unwrap());
    assert!(store.set_notify(ann, direct, muted).await.unwrap());
    assert_eq!(settings_of(store, ann, lobby).await, Some(loud));
    assert_eq!(settings_of(store, ann, direct).await, Some(muted));
    // Bob's settings for the same conversations are his own.
    assert_eq!(
        settings_of(store, bob, lobby).await,
        Some(NotifySettings::default())
    );
    assert_eq!(
        settings_of(store, bob, direct).await,
        Some(NotifySettings::default())
    );
    // Not a member: nothing written (Cat was removed from the lobby; Ann is not in secret).
    assert!(!store.set_notify(cat, lobby, loud).await.unwrap());
    assert!(!store.set_notify(ann, secret, loud).await.unwrap());
    assert_eq!(settings_of(store, ann, secret).await, None);

    // Leaving takes the settings with the membership: back in, the defaults.
    assert!(store.set_notify(bob, lobby, muted).await.unwrap());
    store
        .remove_member(lobby, bob, bob, EventBody::Left {}, 3_000)
        .await
        .unwrap();
    store
        .add_member(lobby, bob, bob, EventBody::Joined {}, 4_000)
        .await
        .unwrap();
    assert_eq!(
        settings_of(store, bob, lobby).await,
        Some(NotifySettings::default())
    );

    assert!(!store.do_not_disturb(ann).await.unwrap());
    store.set_do_not_disturb(ann, true).await.unwrap();
    assert!(store.do_not_disturb(ann).await.unwrap());
    assert!(!store.do_not_disturb(bob).await.unwrap());
    store.set_do_not_disturb(ann, false).await.unwrap();
    assert!(!store.do_not_disturb(ann).await.unwrap());
}

on_both!(settings_are_per_member_and_conversation);
