//! Conversations: direct ones (one per pair), rooms, membership changes as events, contacts,
//! renaming, and what moved since a moment. The fixtures here set up the conversations the
//! message tests (`store/messages.rs`) write into.

use switchboard::{
    protocol::{ConvId, ConvKind, EventBody, Seq, UserId},
    server::store::Store,
};

use crate::common::{seqs, user};

/// Ann, Bob and Cat; Ann and Bob's direct conversation; Ann's public lobby, which Bob joined and
/// Cat was invited to and then removed from (seqs 1–4); Bob's private "secret".
#[derive(Clone, Copy)]
pub struct Convs {
    pub ann: UserId,
    pub bob: UserId,
    pub cat: UserId,
    pub direct: ConvId,
    pub lobby: ConvId,
    pub secret: ConvId,
}

/// Ann, Bob and Cat.
async fn people(store: &Store) -> (UserId, UserId, UserId) {
    let ann = user(store, "Ann").await;
    let bob = user(store, "Bob").await;
    let cat = user(store, "Cat").await;
    (ann, bob, cat)
}

/// The conversations of [`Convs`], made as the tests below make them (which check each step).
pub async fn convs(store: &Store) -> Convs {
    let (ann, bob, cat) = people(store).await;
    let (direct, _) = store.open_direct(ann, bob, 1_000).await.unwrap();
    let lobby = store.create_room(ann, "lobby", true, 1_000).await.unwrap();
    let secret = store
        .create_room(bob, "secret", false, 1_000)
        .await
        .unwrap();
    let changes = [
        (bob, bob, EventBody::Joined {}),
        (cat, ann, EventBody::Invited { user: cat }),
    ];
    for (who, by, body) in changes {
        store
            .add_member(lobby.conv, who, by, body, 2_000)
            .await
            .unwrap();
    }
    let removed = EventBody::Removed { user: cat };
    store
        .remove_member(lobby.conv, cat, ann, removed, 2_000)
        .await
        .unwrap();
    Convs {
        ann,
        bob,
        cat,
        direct,
        lobby: lobby.conv,
        secret: secret.conv,
    }
}

/// Direct conversations: one per pair, whichever side opens it, named after the peer.
async fn a_direct_conversation_is_one_per_pair_and_named_after_the_peer(store: &Store) {
    let (ann, bob, _) = people(store).await;
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
}

/// Rooms: created with a `created` event at seq 1; only public ones are listed.
async fn a_room_starts_with_its_created_event_and_is_listed_only_if_public(store: &Store) {
    let (ann, bob, _) = people(store).await;
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
}

/// Membership changes are events at the next seqs; a no-op writes nothing (no seq used).
async fn membership_changes_are_events_at_the_next_seqs_and_no_ops_write_nothing(store: &Store) {
    let (ann, bob, cat) = people(store).await;
    let lobby = store
        .create_room(ann, "lobby", true, 1_000)
        .await
        .unwrap()
        .conv;
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
}

/// Contacts: everyone sharing a conversation (Cat left the lobby).
async fn contacts_are_everyone_sharing_a_conversation(store: &Store) {
    let Convs { ann, bob, cat, .. } = convs(store).await;
    assert_eq!(store.contacts(ann).await.unwrap(), vec![bob]);
    assert_eq!(store.contacts(bob).await.unwrap(), vec![ann]);
    assert!(store.contacts(cat).await.unwrap().is_empty());
}

/// [`Convs`] with the messages of `store/messages.rs` stored (the lobby at seq 8).
async fn with_messages(store: &Store) -> Convs {
    let convs = convs(store).await;
    crate::messages::store_every_batch(store, &convs).await;
    convs
}

/// Renaming is an event too, and the new name shows everywhere.
async fn renaming_a_room_is_an_event(store: &Store) {
    let Convs { ann, lobby, .. } = with_messages(store).await;
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
}

/// What moved since a moment: each such conversation with its newest seq, by id.
async fn what_moved_since_a_moment_is_each_conversation_with_its_newest_seq(store: &Store) {
    let Convs {
        ann,
        direct,
        lobby,
        secret,
        ..
    } = with_messages(store).await;
    store.rename_room(lobby, ann, "hall", 5_000).await.unwrap();
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

on_both!(
    a_direct_conversation_is_one_per_pair_and_named_after_the_peer,
    a_room_starts_with_its_created_event_and_is_listed_only_if_public,
    membership_changes_are_events_at_the_next_seqs_and_no_ops_write_nothing,
    contacts_are_everyone_sharing_a_conversation,
    renaming_a_room_is_an_event,
    what_moved_since_a_moment_is_each_conversation_with_its_newest_seq,
);
