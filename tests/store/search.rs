//! Message search in the store, on both backends: only conversations the searcher is in now,
//! every word required (as a word or its start), the current text of an edited message, never a
//! deleted one or a blocked sender's, the filters, and pages newest first.

use switchboard::{
    protocol::{ClientMsgId, ConvId, SearchHit, Seq, UserId, search_terms},
    server::store::{Action, NewAction, SearchQuery, Store},
};

use crate::{
    common::msg,
    conversations::{Convs, convs},
};

fn query(text: &str) -> SearchQuery {
    SearchQuery {
        terms: search_terms(text),
        limit: 50,
        ..SearchQuery::default()
    }
}

async fn hits(store: &Store, me: UserId, query: &SearchQuery) -> Vec<(ConvId, String)> {
    let found: Vec<SearchHit> = store.search(me, query).await.unwrap();
    found.into_iter().map(|h| (h.conv, h.body)).collect()
}

fn act(conv: ConvId, from: UserId, id: &str, target: Seq, action: Action) -> NewAction {
    NewAction {
        conv,
        from,
        client_msg_id: ClientMsgId(id.into()),
        target,
        action,
        at: 10_000,
        edit_since: 5_000,
    }
}

async fn search_sees_what_the_searcher_may_read_now(store: &Store) {
    let Convs {
        ann,
        bob,
        cat,
        direct,
        lobby,
        secret,
    } = convs(store).await;
    let say = |conv, from, id: &'static str, body: &'static str, at| async move {
        store
            .append_messages(&[&msg(conv, from, id, body)], at)
            .await
            .unwrap()[0]
            .seq
    };
    let api = say(lobby, bob, "b-1", "Deploying the API tonight", 6_000).await;
    say(direct, ann, "a-1", "deploy soon?", 7_000).await;
    say(secret, bob, "b-2", "deploy the secret plans", 8_000).await;
    say(lobby, ann, "a-2", "lunch first", 9_000).await;
    let deploy = query("deploy");
    let d = |s: &str| (direct, s.to_owned());
    let l = |s: &str| (lobby, s.to_owned());
    assert_eq!(
        hits(store, ann, &deploy).await,
        [d("deploy soon?"), l("Deploying the API tonight")]
    );
    assert_eq!(hits(store, bob, &deploy).await.len(), 3);
    assert!(
        hits(store, cat, &deploy).await.is_empty(),
        "Cat was removed from the lobby"
    );
    assert_eq!(
        hits(store, ann, &query("depl THE api")).await,
        [l("Deploying the API tonight")]
    );
    assert!(hits(store, ann, &query("deploy lunch")).await.is_empty());

    // Filters and pages.
    let only = |f: fn(&mut SearchQuery)| {
        let mut q = query("deploy");
        f(&mut q);
        q
    };
    let mut in_lobby = query("deploy");
    in_lobby.conv = Some(lobby);
    assert_eq!(
        hits(store, ann, &in_lobby).await,
        [l("Deploying the API tonight")]
    );
    let from_bob = only(|q| q.from = Some("bob".into()));
    assert_eq!(
        hits(store, ann, &from_bob).await,
        [l("Deploying the API tonight")]
    );
    let early = only(|q| q.before = Some(7_000));
    assert_eq!(
        hits(store, ann, &early).await,
        [l("Deploying the API tonight")]
    );
    let late = only(|q| q.after = Some(7_000));
    assert_eq!(hits(store, ann, &late).await, [d("deploy soon?")]);
    let mut first = query("deploy");
    first.limit = 1;
    let page: Vec<SearchHit> = store.search(ann, &first).await.unwrap();
    assert_eq!(page.len(), 1);
    first.page = Some(page[0].cursor());
    assert_eq!(
        hits(store, ann, &first).await,
        [l("Deploying the API tonight")]
    );

    // Edited: the new text; deleted: nothing; blocked: not the blocked sender's.
    let edit = Action::Edit {
        body: "Shipping the API tonight".into(),
    };
    store.act(&act(lobby, bob, "e-1", api, edit)).await.unwrap();
    let shipped: Vec<SearchHit> = store.search(ann, &query("shipping")).await.unwrap();
    assert_eq!(
        (shipped.len(), shipped[0].edited, shipped[0].seq),
        (1, true, api)
    );
    assert_eq!(hits(store, ann, &deploy).await, [d("deploy soon?")]);
    store.block(bob, ann, 11_000, 10).await.unwrap();
    assert_eq!(
        hits(store, bob, &query("deploy")).await.len(),
        1,
        "only the secret room's"
    );
    store
        .act(&act(lobby, bob, "e-2", api, Action::Delete))
        .await
        .unwrap();
    assert!(hits(store, ann, &query("shipping")).await.is_empty());
    assert!(hits(store, ann, &query("api")).await.is_empty());
}

on_both!(search_sees_what_the_searcher_may_read_now);
