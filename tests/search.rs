//! Message search against the real server and real sockets: a search finds only messages of
//! conversations the searcher is in now, the latest text of an edited message, never a deleted
//! one or a blocked sender's; its filters and pages work; each refusal is typed; the budget
//! holds; and a deleted message's words leave the SQLite index itself.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use harness::{Device, TestServer, room};
use switchboard::protocol::{
    ClientFrame, ClientMsgId, ConvId, ErrorCode, FrameType, SearchCursor, SearchHit, Seq,
    ServerFrame, UserId,
};

/// A search's fields (a struct, so a test can name only the filters it sets).
#[derive(Default)]
struct Q {
    text: String,
    conv: Option<ConvId>,
    from: Option<String>,
    after: Option<i64>,
    before: Option<i64>,
    page: Option<SearchCursor>,
    limit: Option<u32>,
}

impl Q {
    fn frame(self) -> ClientFrame {
        ClientFrame::Search {
            text: self.text,
            conv: self.conv,
            from: self.from,
            after: self.after,
            before: self.before,
            page: self.page,
            limit: self.limit,
        }
    }
}

/// A search for `text`, no filters.
fn q(text: &str) -> Q {
    Q {
        text: text.into(),
        ..Q::default()
    }
}

/// A search with only words.
fn words(text: &str) -> ClientFrame {
    q(text).frame()
}

/// Sends `frame` (a search) and returns its answer: the hits, the words matched and `next`.
async fn search(
    device: &mut Device,
    frame: ClientFrame,
) -> (Vec<SearchHit>, Vec<String>, Option<SearchCursor>) {
    device.send(&frame).await;
    loop {
        match device.next().await {
            ServerFrame::SearchResults {
                hits, terms, next, ..
            } => return (hits, terms, next),
            ServerFrame::Error { code, message, .. } => panic!("{frame:?}: {code:?} {message}"),
            _ => {}
        }
    }
}

/// The texts of a search's hits, newest first.
async fn found(device: &mut Device, frame: ClientFrame) -> Vec<String> {
    let (hits, _, _) = search(device, frame).await;
    hits.into_iter().map(|h| h.body).collect()
}

/// Sends `frame` and returns the code of the refusal answering it (which names `search`).
async fn refused(device: &mut Device, frame: ClientFrame) -> (ErrorCode, Option<u32>) {
    device.send(&frame).await;
    loop {
        match device.next().await {
            ServerFrame::Error {
                code,
                refused,
                retry_after_ms,
                ..
            } => {
                assert_eq!(refused, Some(FrameType::Search));
                return (code, retry_after_ms);
            }
            ServerFrame::SearchResults { .. } => panic!("{frame:?} was answered"),
            _ => {}
        }
    }
}

/// Ann and Ben in room `ops`; Ben and Cat in room `secret`, which Ann is not in; Ann and Cat in
/// a direct conversation. Each posts something about deploying.
struct World {
    ann: Device,
    ben: Device,
    cat: Device,
    ops: ConvId,
    secret: ConvId,
    direct: ConvId,
    cat_id: UserId,
    ben_said: Seq,
}

async fn world(server: &TestServer) -> World {
    let (ann, _) = server.user("ann").await;
    let (ben, _) = server.user("ben").await;
    let (cat, cat_id) = server.user("cat").await;
    let (mut ann, _) = server.device(&ann, vec![]).await;
    let (mut ben, _) = server.device(&ben, vec![]).await;
    let (mut cat, _) = server.device(&cat, vec![]).await;
    let ops = room(&mut ann, "ops", true).await;
    ben.send(&ClientFrame::JoinRoom { conv: ops }).await;
    ben.conversation().await;
    let secret = room(&mut ben, "secret", true).await;
    cat.send(&ClientFrame::JoinRoom { conv: secret }).await;
    cat.conversation().await;
    ann.send(&ClientFrame::OpenDirect { user: cat_id }).await;
    let direct = ann.conversation().await;
    let ben_said = ben.post(ops, "b-1", "Deploying the API tonight").await;
    ann.post(ops, "a-1", "lunch first?").await;
    cat.post(secret, "c-1", "deploy the secret plans").await;
    cat.post(direct, "c-2", "are we deploying soon?").await;
    World {
        ann,
        ben,
        cat,
        ops,
        secret,
        direct,
        cat_id,
        ben_said,
    }
}

#[tokio::test]
async fn a_search_finds_only_what_the_searcher_may_read_newest_first() {
    let server = TestServer::start_with(|c| c.searches_per_minute = 6000).await;
    let mut w = world(&server).await;
    let (hits, terms, next) = search(&mut w.ann, words("DEPLOY")).await;
    assert_eq!(terms, ["deploy"]);
    assert_eq!(next, None);
    let places: Vec<(ConvId, &str)> = hits.iter().map(|h| (h.conv, h.body.as_str())).collect();
    assert_eq!(
        places,
        [
            (w.direct, "are we deploying soon?"),
            (w.ops, "Deploying the API tonight")
        ],
        "never the room Ann is not in"
    );
    assert!(hits.windows(2).all(|p| p[0].at >= p[1].at));
    let names: Vec<&str> = hits.iter().map(|h| h.from_name.as_str()).collect();
    assert_eq!(names, ["cat", "ben"], "display names, never ids");
    // Every word must be there.
    assert_eq!(
        found(&mut w.ann, words("deploy api")).await,
        ["Deploying the API tonight"]
    );
    assert!(found(&mut w.ann, words("deploy lunch")).await.is_empty());
    // Cat, in the secret room, finds it there.
    let cats = found(&mut w.cat, words("secret plans")).await;
    assert_eq!(cats, ["deploy the secret plans"]);

    // Filters: one conversation, one sender, a time range.
    let in_ops = Q {
        conv: Some(w.ops),
        ..q("deploy")
    }
    .frame();
    assert_eq!(
        found(&mut w.ann, in_ops).await,
        ["Deploying the API tonight"]
    );
    let from_cat = Q {
        from: Some("CAT".into()),
        ..q("deploy")
    }
    .frame();
    assert_eq!(
        found(&mut w.ann, from_cat).await,
        ["are we deploying soon?"]
    );
    let nobody = Q {
        from: Some("no such user!".into()),
        ..q("deploy")
    }
    .frame();
    assert!(found(&mut w.ann, nobody).await.is_empty());
    let (all, _, _) = search(&mut w.ann, words("deploy")).await;
    let newest = all[0].at;
    let before_newest = Q {
        before: Some(newest),
        ..q("deploy")
    }
    .frame();
    let older: Vec<String> = found(&mut w.ann, before_newest).await;
    assert!(!older.contains(&"are we deploying soon?".to_owned()));
    let from_newest = Q {
        after: Some(newest),
        ..q("deploy")
    }
    .frame();
    assert_eq!(
        found(&mut w.ann, from_newest).await,
        ["are we deploying soon?"]
    );

    // Naming a conversation one is not in is refused, typed; so are searches with no word.
    let elsewhere = Q {
        conv: Some(w.secret),
        ..q("deploy")
    }
    .frame();
    assert_eq!(refused(&mut w.ann, elsewhere).await.0, ErrorCode::Forbidden);
    let missing = Q {
        conv: Some(ConvId(999_999)),
        ..q("deploy")
    }
    .frame();
    assert_eq!(refused(&mut w.ann, missing).await.0, ErrorCode::NotFound);
    assert_eq!(
        refused(&mut w.ann, words("a ! ?")).await.0,
        ErrorCode::InvalidRequest
    );
    let long = words(&"deploy ".repeat(40));
    assert_eq!(refused(&mut w.ann, long).await.0, ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn edits_deletions_leaving_and_blocking_change_what_is_found() {
    let server = TestServer::start().await;
    let mut w = world(&server).await;
    // An edit: the new words are found, the old ones no longer.
    let edit = ClientFrame::Edit {
        client_msg_id: ClientMsgId("b-2".into()),
        conv: w.ops,
        target: w.ben_said,
        body: "Shipping the API tonight".into(),
    };
    w.ben.acked(edit).await;
    let (hits, _, _) = search(&mut w.ann, words("shipping")).await;
    assert_eq!(hits.len(), 1);
    assert!(hits[0].edited);
    assert_eq!((hits[0].conv, hits[0].seq), (w.ops, w.ben_said));
    assert_eq!(
        found(&mut w.ann, words("deploy")).await,
        ["are we deploying soon?"]
    );
    // A deletion: gone.
    let delete = ClientFrame::Delete {
        client_msg_id: ClientMsgId("b-3".into()),
        conv: w.ops,
        target: w.ben_said,
    };
    w.ben.acked(delete).await;
    assert!(found(&mut w.ann, words("shipping")).await.is_empty());
    // Blocking Cat hides Cat's messages from Ann's searches; unblocking shows them again.
    w.ann.send(&ClientFrame::Block { user: w.cat_id }).await;
    w.ann
        .until(|f| matches!(f, ServerFrame::Blocks { .. }))
        .await;
    assert!(found(&mut w.ann, words("deploy")).await.is_empty());
    w.ann.send(&ClientFrame::Unblock { user: w.cat_id }).await;
    w.ann
        .until(|f| matches!(f, ServerFrame::Blocks { .. }))
        .await;
    assert_eq!(found(&mut w.ann, words("deploy")).await.len(), 1);
    // Leaving: nothing of the room is found any more, though the messages stay for others.
    w.ann.post(w.ops, "a-2", "deploy notes for the team").await;
    w.ann.send(&ClientFrame::Leave { conv: w.ops }).await;
    w.ann.until(|f| matches!(f, ServerFrame::Gone { .. })).await;
    assert_eq!(
        found(&mut w.ann, words("deploy")).await,
        ["are we deploying soon?"]
    );
    assert_eq!(
        found(&mut w.ben, words("notes")).await,
        ["deploy notes for the team"]
    );
}

#[tokio::test]
async fn pages_cover_every_hit_once_and_the_budget_refuses_a_flood() {
    let server = TestServer::start_with(|c| c.searches_per_minute = 30).await;
    let (ann, _) = server.user("ann").await;
    let (mut ann, _) = server.device(&ann, vec![]).await;
    let conv = room(&mut ann, "log", true).await;
    for i in 0..25 {
        ann.post(conv, &format!("m{i}"), &format!("build {i} passed"))
            .await;
        ann.post(conv, &format!("n{i}"), "unrelated").await;
    }
    let mut seen = Vec::new();
    let mut page = None;
    let mut pages = 0;
    loop {
        let frame = Q {
            page,
            limit: Some(10),
            ..q("build passed")
        }
        .frame();
        let (hits, _, next) = search(&mut ann, frame).await;
        pages += 1;
        seen.extend(hits.iter().map(|h| h.body.clone()));
        match next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..25).rev().map(|i| format!("build {i} passed")).collect();
    assert_eq!(seen, want, "newest first, each once");
    // 30 a minute in bursts of 5 (one more every 2 s, however slow the machine was above): a
    // flood is refused with a time to wait well before 20 searches.
    let mut refusal = None;
    for _ in 0..20 {
        ann.send(&words("build")).await;
        match ann.next().await {
            ServerFrame::Error {
                code,
                retry_after_ms,
                refused,
                ..
            } => {
                assert_eq!(
                    (code, refused),
                    (ErrorCode::RateLimited, Some(FrameType::Search))
                );
                refusal = retry_after_ms;
                break;
            }
            ServerFrame::SearchResults { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        refusal.is_some_and(|ms| ms > 0),
        "a flood of searches is refused"
    );
}

#[tokio::test]
async fn a_deleted_messages_words_leave_the_sqlite_index() {
    use sqlx::Connection;
    let server = TestServer::start().await;
    let db = server.state.config.database_path.clone();
    let (ann, _) = server.user("ann").await;
    let (mut ann, _) = server.device(&ann, vec![]).await;
    let conv = room(&mut ann, "vault", true).await;
    let said = ann.post(conv, "a-1", "the code is quokkazebra").await;
    let edit = ClientFrame::Edit {
        client_msg_id: ClientMsgId("a-2".into()),
        conv,
        target: said,
        body: "the code is wombatyak".into(),
    };
    ann.acked(edit).await;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    async fn terms(conn: &mut sqlx::SqliteConnection) -> Vec<String> {
        let sql = "SELECT term FROM message_search_terms ORDER BY term";
        sqlx::query_scalar(sql).fetch_all(conn).await.unwrap()
    }
    sqlx::query(
        "CREATE VIRTUAL TABLE temp.message_search_terms USING fts5vocab(main, message_search, row)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let before = terms(&mut conn).await;
    assert!(before.contains(&"wombatyak".to_owned()), "{before:?}");
    assert!(
        !before.contains(&"quokkazebra".to_owned()),
        "an edit replaces the words: {before:?}"
    );
    let delete = ClientFrame::Delete {
        client_msg_id: ClientMsgId("a-3".into()),
        conv,
        target: said,
    };
    ann.acked(delete).await;
    let after = terms(&mut conn).await;
    assert!(
        after.iter().all(|t| t != "wombatyak" && t != "code"),
        "{after:?}"
    );
}
