//! Blocks and invitations on both backends: bounded lists that refuse past their cap and write
//! nothing, idempotent adds, and contacts that leave out blocked pairs both ways.

use switchboard::{
    protocol::{MAX_BLOCKS, UserId},
    server::store::{Blocked, InvitationCaps, Invited, Store},
};

use crate::common::user;

/// The block list is bounded, idempotent, ascending, and hides the pair from each other's
/// contacts.
async fn blocks_are_bounded_idempotent_and_hide_contacts_both_ways(store: &Store) {
    let ann = user(store, "ann").await;
    let ben = user(store, "ben").await;
    let dm = store.open_direct(ann, ben, 1_000).await.unwrap().0;
    assert_eq!(store.contacts(ann).await.unwrap(), vec![ben]);
    assert_eq!(
        store.block(ann, ben, 2_000, MAX_BLOCKS).await.unwrap(),
        Blocked::Added
    );
    assert_eq!(
        store.block(ann, ben, 2_001, MAX_BLOCKS).await.unwrap(),
        Blocked::Already
    );
    assert!(store.contacts(ann).await.unwrap().is_empty());
    assert!(
        store.contacts(ben).await.unwrap().is_empty(),
        "hidden both ways"
    );
    assert!(store.direct_refuses(dm, ben).await.unwrap());
    assert!(
        !store.direct_refuses(dm, ann).await.unwrap(),
        "the block is ann's"
    );
    assert_eq!(store.blocked_either_way(ben).await.unwrap(), vec![ann]);

    // A small cap stands for MAX_BLOCKS: full means nothing written.
    let mut others = Vec::new();
    for i in 0..3 {
        others.push(user(store, &format!("other{i}")).await);
    }
    assert_eq!(
        store.block(ann, others[0], 3_000, 3).await.unwrap(),
        Blocked::Added
    );
    assert_eq!(
        store.block(ann, others[1], 3_000, 3).await.unwrap(),
        Blocked::Added
    );
    assert_eq!(
        store.block(ann, others[2], 3_000, 3).await.unwrap(),
        Blocked::Full
    );
    let mut want = vec![ben, others[0], others[1]];
    want.sort();
    assert_eq!(store.blocked_by(ann).await.unwrap(), want);

    assert!(store.unblock(ann, ben).await.unwrap());
    assert!(!store.unblock(ann, ben).await.unwrap());
    assert_eq!(store.contacts(ann).await.unwrap(), vec![ben]);
    assert!(!store.direct_refuses(dm, ben).await.unwrap());
}

/// Invitations are one per invitee and room, bounded per invitee and per room, listed to the
/// invitee, and taken or withdrawn exactly once.
async fn invitations_are_bounded_and_taken_once(store: &Store) {
    let ann = user(store, "ann").await;
    let ben = user(store, "ben").await;
    let cat = user(store, "cat").await;
    let caps = InvitationCaps {
        per_user: 1,
        per_room: 1,
    };
    let a = store
        .create_room(ann, "a", false, 1_000)
        .await
        .unwrap()
        .conv;
    let b = store
        .create_room(ann, "b", false, 1_000)
        .await
        .unwrap()
        .conv;
    let Invited::Pending(first) = store.invite(a, ben, ann, 2_000, caps).await.unwrap() else {
        panic!("a first invitation is pending")
    };
    assert_eq!(
        (first.conv, first.name.as_str(), first.from_name.as_str()),
        (a, "a", "ann")
    );
    assert_eq!(
        store.invite(a, ben, ann, 2_001, caps).await.unwrap(),
        Invited::Already
    );
    assert_eq!(
        store.invite(b, ben, ann, 2_002, caps).await.unwrap(),
        Invited::InviteeFull
    );
    assert_eq!(
        store.invite(a, cat, ann, 2_003, caps).await.unwrap(),
        Invited::RoomFull
    );
    assert_eq!(store.invitations(ben).await.unwrap(), vec![first]);
    assert!(store.invitations(cat).await.unwrap().is_empty());

    assert_eq!(store.pending_inviter(a, ben).await.unwrap(), Some(ann));
    assert_eq!(store.take_invitation(a, ben).await.unwrap(), Some(ann));
    assert_eq!(store.take_invitation(a, ben).await.unwrap(), None);
    // No event was written: the room still holds only `created`.
    assert_eq!(store.last_seq(a).await.unwrap().0, 1);

    let wide = InvitationCaps {
        per_user: 10,
        per_room: 10,
    };
    store.invite(a, ben, ann, 3_000, wide).await.unwrap();
    store.invite(a, cat, ann, 3_000, wide).await.unwrap();
    let mut gone = store.withdraw_invitations(a, ann).await.unwrap();
    gone.sort();
    let mut want: Vec<UserId> = vec![ben, cat];
    want.sort();
    assert_eq!(gone, want);
    store.invite(b, cat, ann, 4_000, wide).await.unwrap();
    assert_eq!(
        store.withdraw_invitations_from(cat, ann).await.unwrap(),
        vec![b]
    );
    assert!(store.invitations(cat).await.unwrap().is_empty());
}

/// Invitations made at the same moment never go past a cap: many at once to one invitee (from
/// many rooms) and to one room (of many invitees) leave exactly as many pending as allowed.
async fn invitations_at_once_stay_within_the_caps(store: &Store) {
    const AT_ONCE: usize = 16;
    let caps = InvitationCaps {
        per_user: 3,
        per_room: 3,
    };
    let ann = user(store, "ann").await;
    let ben = user(store, "ben").await;
    let mut rooms = Vec::new();
    let mut people = Vec::new();
    for i in 0..AT_ONCE {
        rooms.push(
            store
                .create_room(ann, &format!("r{i}"), false, 1)
                .await
                .unwrap()
                .conv,
        );
        people.push(user(store, &format!("u{i}")).await);
    }
    let to_ben = rooms
        .iter()
        .map(|room| store.invite(*room, ben, ann, 2, caps));
    let to_room = people
        .iter()
        .map(|who| store.invite(rooms[0], *who, ann, 3, caps));
    let (to_ben, to_room) = tokio::join!(
        futures::future::join_all(to_ben),
        futures::future::join_all(to_room)
    );
    let pending = |answers: &[Result<Invited, _>]| {
        answers
            .iter()
            .filter(|a| matches!(a, Ok(Invited::Pending(_))))
            .count()
    };
    assert_eq!(pending(&to_ben), 3, "{to_ben:?}");
    assert_eq!(store.invitations(ben).await.unwrap().len(), 3);
    // rooms[0] may have used one of its three on ben.
    let in_room = pending(&to_room)
        + usize::from(
            store
                .pending_inviter(rooms[0], ben)
                .await
                .unwrap()
                .is_some(),
        );
    assert_eq!(in_room, 3, "{to_room:?}");
}

on_both!(
    blocks_are_bounded_idempotent_and_hide_contacts_both_ways,
    invitations_are_bounded_and_taken_once,
    invitations_at_once_stay_within_the_caps,
);
