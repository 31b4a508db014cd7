//! Edits, deletions and reactions in the store: each decided and stored in one transaction as
//! an event at the conversation's next seq; refusals and no-ops write nothing; a deletion
//! removes the text of the message and of its edits from what the store returns, and (read
//! with SQL) from the table.

use switchboard::{
    protocol::{ClientMsgId, ConvId, EventBody, MAX_REACTIONS_PER_MESSAGE, Seq, UserId},
    server::store::{Acted, Action, NewAction, NewMessage, Refused, Store},
};

use crate::{
    common::msg,
    conversations::{Convs, convs},
    pg::PgServer,
};

/// `from`'s action `id` on `target` of `conv` at 10 000 ms, with an edit window back to 5 000.
fn act(conv: ConvId, from: UserId, id: &str, target: i64, action: Action) -> NewAction {
    NewAction {
        conv,
        from,
        client_msg_id: ClientMsgId(id.into()),
        target: Seq(target),
        action,
        at: 10_000,
        edit_since: 5_000,
    }
}

fn edit(body: &str) -> Action {
    Action::Edit { body: body.into() }
}

fn react(emoji: &str) -> Action {
    Action::React {
        emoji: emoji.into(),
    }
}

/// Stores one message (at `at`) and returns its seq.
async fn send(store: &Store, message: NewMessage, at: i64) -> Seq {
    store.append_messages(&[&message], at).await.unwrap()[0].seq
}

/// What the store made of `action`.
async fn apply(store: &Store, action: NewAction) -> Acted {
    store.act(&action).await.unwrap()
}

/// The stored event's seq, or a panic naming what happened instead.
fn stored(acted: Acted) -> Seq {
    match acted {
        Acted::Stored(event) => event.seq,
        other => panic!("expected a stored event, got {other:?}"),
    }
}

/// Edits: own messages within the window; a retry is the original; everything else refused
/// with nothing written.
async fn edits_are_the_senders_within_the_window_and_a_retry_is_stored_once(store: &Store) {
    let Convs {
        ann,
        bob,
        cat,
        lobby,
        ..
    } = convs(store).await;
    let hello = send(store, msg(lobby, bob, "b-1", "helo"), 6_000).await;
    let old = send(store, msg(lobby, bob, "b-2", "old"), 4_000).await;
    let fixed = stored(apply(store, act(lobby, bob, "e-1", hello.0, edit("hello"))).await);
    assert_eq!(fixed, Seq(hello.0 + 2));
    assert_eq!(
        apply(store, act(lobby, bob, "e-1", hello.0, edit("hello again"))).await,
        Acted::Duplicate(lobby, fixed),
        "a retry finds the original"
    );
    let refusals = [
        (
            act(lobby, ann, "e-2", hello.0, edit("x")),
            Refused::NotYours,
        ),
        (act(lobby, bob, "e-3", old.0, edit("x")), Refused::TooOld),
        (
            act(lobby, cat, "e-4", hello.0, edit("x")),
            Refused::NotMember,
        ),
        (act(lobby, bob, "e-5", 1, edit("x")), Refused::NotAMessage),
        (act(lobby, bob, "e-6", 999, edit("x")), Refused::NoTarget),
        (
            act(ConvId(999), bob, "e-7", 1, edit("x")),
            Refused::NoTarget,
        ),
    ];
    for (action, why) in refusals {
        assert_eq!(
            store.act(&action).await.unwrap(),
            Acted::Refused(why),
            "{action:?}"
        );
    }
    assert_eq!(
        store.last_seq(lobby).await.unwrap(),
        fixed,
        "refusals took no seq"
    );
    let events = store.events_after(lobby, hello, 10).await.unwrap();
    assert_eq!(
        events.last().unwrap().body,
        EventBody::Edited {
            target: hello,
            body: "hello".into()
        }
    );
}

/// Reactions: one per (user, emoji, message); adding again and taking back an absent one are
/// no-ops; the distinct emoji per message are bounded; a reply keeps its target.
async fn reactions_are_idempotent_and_bounded(store: &Store) {
    let Convs {
        ann, bob, lobby, ..
    } = convs(store).await;
    let hello = send(store, msg(lobby, bob, "b-1", "hello"), 6_000).await;
    let mut reply = msg(lobby, ann, "a-1", "hi!");
    reply.reply_to = Some(hello);
    let answer = send(store, reply, 6_001).await;
    let events = store.events_after(lobby, hello, 1).await.unwrap();
    assert!(
        matches!(events[0].body, EventBody::Message { reply_to: Some(to), .. } if to == hello),
        "{events:?}"
    );
    let first = stored(apply(store, act(lobby, ann, "r-1", hello.0, react("👍"))).await);
    assert_eq!(first, Seq(answer.0 + 1));
    assert_eq!(
        apply(store, act(lobby, ann, "r-2", hello.0, react("👍"))).await,
        Acted::Unchanged
    );
    stored(apply(store, act(lobby, bob, "r-3", hello.0, react("👍"))).await);
    let unreact = |id: &str| {
        act(
            lobby,
            ann,
            id,
            hello.0,
            Action::Unreact {
                emoji: "👍".into()
            },
        )
    };
    stored(apply(store, unreact("u-1")).await);
    assert_eq!(apply(store, unreact("u-2")).await, Acted::Unchanged);
    // Bob's 👍 is one distinct emoji; fill up to the bound with others.
    let palette = [
        "😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃", "😉", "😊", "😇", "🥰", "😍",
        "🤩", "😘", "😗", "😚", "😙", "😋",
    ];
    for (n, emoji) in palette
        .iter()
        .take(MAX_REACTIONS_PER_MESSAGE - 1)
        .enumerate()
    {
        stored(
            apply(
                store,
                act(lobby, ann, &format!("f-{n}"), hello.0, react(emoji)),
            )
            .await,
        );
    }
    let last = store.last_seq(lobby).await.unwrap();
    assert_eq!(
        apply(store, act(lobby, ann, "over", hello.0, react("🦀"))).await,
        Acted::Refused(Refused::TooManyReactions)
    );
    stored(apply(store, act(lobby, bob, "same", hello.0, react("😀"))).await);
    assert_eq!(
        store.last_seq(lobby).await.unwrap(),
        last.next(),
        "an emoji already there is not a new one"
    );
}

/// Deletion: the sender's, or the room owner's; the message and its edits become tombstones,
/// its reactions go, and a second deletion, an edit or a reaction is refused.
async fn a_deleted_message_leaves_a_tombstone_and_no_text(store: &Store) {
    let Convs {
        ann, bob, lobby, ..
    } = convs(store).await;
    let hello = send(store, msg(lobby, bob, "b-1", "the secret plan"), 6_000).await;
    let own = send(store, msg(lobby, bob, "b-2", "mine"), 6_000).await;
    let edit_seq = stored(
        apply(
            store,
            act(lobby, bob, "e-1", hello.0, edit("the secret plan, v2")),
        )
        .await,
    );
    stored(apply(store, act(lobby, ann, "r-1", hello.0, react("👀"))).await);
    assert_eq!(
        apply(store, act(lobby, UserId(bob.0), "d-0", 2, Action::Delete)).await,
        Acted::Refused(Refused::NotAMessage)
    );
    // Ann owns the lobby: she may delete Bob's message (but Bob may not delete hers, below).
    let deleted = stored(apply(store, act(lobby, ann, "d-1", hello.0, Action::Delete)).await);
    for (id, action) in [
        ("d-2", Action::Delete),
        ("e-2", edit("again")),
        ("r-2", react("👍")),
    ] {
        assert_eq!(
            apply(store, act(lobby, bob, id, hello.0, action)).await,
            Acted::Refused(Refused::Deleted)
        );
    }
    let mine = send(store, msg(lobby, ann, "a-1", "ann's"), 6_000).await;
    assert_eq!(
        apply(store, act(lobby, bob, "d-3", mine.0, Action::Delete)).await,
        Acted::Refused(Refused::NotYours)
    );
    stored(apply(store, act(lobby, bob, "d-4", own.0, Action::Delete)).await);
    // A retry of the deleted message's send finds it and stores nothing.
    let again = store
        .append_messages(&[&msg(lobby, bob, "b-1", "the secret plan")], 7_000)
        .await
        .unwrap();
    assert_eq!(again[0].seq, hello);

    let events = store.events_after(lobby, Seq(0), 100).await.unwrap();
    let body_of = |seq: Seq| events.iter().find(|e| e.seq == seq).unwrap().body.clone();
    assert_eq!(body_of(hello), EventBody::Tombstone { target: None });
    assert_eq!(
        body_of(edit_seq),
        EventBody::Tombstone {
            target: Some(hello)
        }
    );
    assert_eq!(body_of(deleted), EventBody::Deleted { target: hello });
    let older = store.events_before(lobby, Seq(100), 100).await.unwrap();
    assert_eq!(older, events, "history pages show the same tombstones");
    let text = format!("{events:?}");
    assert!(!text.contains("secret plan"), "{text}");
}

on_both!(
    edits_are_the_senders_within_the_window_and_a_retry_is_stored_once,
    reactions_are_idempotent_and_bounded,
    a_deleted_message_leaves_a_tombstone_and_no_text,
);

/// On Postgres, read with SQL: no row of any table of the database holds the deleted text.
/// (Its old row versions are dead tuples in the heap file until a vacuum reuses their space;
/// no query returns them.)
#[tokio::test]
async fn postgres_a_deleted_text_is_in_no_row() {
    let server = PgServer::start().await;
    let store = Store::open_postgres(&server.url).await.unwrap();
    let Convs { bob, lobby, .. } = convs(&store).await;
    let hello = send(&store, msg(lobby, bob, "b-1", "zebra-canary-7"), 6_000).await;
    stored(
        apply(
            &store,
            act(lobby, bob, "e-1", hello.0, edit("zebra-canary-7 edited")),
        )
        .await,
    );
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&server.url)
        .await
        .unwrap();
    const COUNT: &str = "SELECT COUNT(*) FROM events e WHERE e::text LIKE '%zebra-canary-7%'";
    let before: i64 = sqlx::query_scalar(COUNT)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(before, 2, "the message and its edit");
    stored(apply(&store, act(lobby, bob, "d-1", hello.0, Action::Delete)).await);
    let after: i64 = sqlx::query_scalar(COUNT)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(after, 0);
    let anywhere: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reactions r WHERE r::text LIKE '%zebra-canary-7%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(anywhere, 0);
}
