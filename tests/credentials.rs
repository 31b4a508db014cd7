//! Credentials end what hangs on them, and log-in throttling slows guessers without locking the
//! owner out: against the real server, with real sockets and client addresses on 127.0.0.0/8.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use harness::{Client, TestServer, next_frame, status_of};
use switchboard::protocol::{PROTOCOL_VERSION, ServerFrame, close_code};
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "correct horse battery";

/// Far more than any expiry below needs, so a busy machine cannot fail a test by being slow.
const PATIENCE: Duration = Duration::from_secs(30);

fn v() -> String {
    PROTOCOL_VERSION.to_string()
}

/// What an `/api` call made from a chosen client address answered.
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

/// POSTs a form to `/api/<endpoint>` from the loopback address `from`.
async fn api_from(
    server: &TestServer,
    from: IpAddr,
    endpoint: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Answer {
    let client = reqwest::Client::builder()
        .local_address(from)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client
        .post(server.url(&format!("/api/{endpoint}")))
        .header("accept", "application/json")
        .header("origin", server.origin())
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Answer {
        status: response.status().as_u16(),
        retry_after,
        body: response.text().await.unwrap(),
    }
}

fn address(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

async fn login_from(server: &TestServer, n: u8, username: &str, password: &str) -> Answer {
    let form = [("username", username), ("password", password)];
    api_from(server, address(n), "login", None, &form).await
}

/// Creates an access token for the session `cookie`, living `lifetime` seconds ("" = forever).
async fn token(server: &TestServer, cookie: &str, name: &str, lifetime: &str) -> String {
    let form = [("name", name), ("expires_in_secs", lifetime)];
    let created = api_from(server, address(1), "create_token", Some(cookie), &form).await;
    assert_eq!(created.status, 200, "{}", created.body);
    serde_json::from_str(&created.body).unwrap()
}

/// Opens `/ws` with an access token and no Origin, as a bot does, and reads the hello.
async fn bot(server: &TestServer, token: &str) -> Client {
    let mut ws = server.try_ws(&v(), None, None, Some(token)).await.unwrap();
    assert!(matches!(
        next_frame(&mut ws).await,
        ServerFrame::Hello { .. }
    ));
    ws
}

/// Reads, sending nothing, until the server closes the socket; its close code and reason.
async fn closed_within(ws: &mut Client, limit: Duration) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("the server closed the socket in time");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (frame.code.into(), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                panic!("the socket ended without a close code")
            }
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_password_change_revokes_every_token_and_closes_their_sockets() {
    let server = TestServer::start().await;
    let cookie = server.register("grace", PASSWORD).await;
    let other = server.login("grace", PASSWORD).await.cookie.unwrap();
    let first = token(&server, &cookie, "bot one", "").await;
    let second = token(&server, &cookie, "bot two", "86400").await;
    let mut first_ws = bot(&server, &first).await;
    let mut second_ws = bot(&server, &second).await;
    let mut other_ws = server.ws(&other).await;

    let form = [
        ("current_password", PASSWORD),
        ("new_password", "a brand new secret"),
    ];
    let changed = api_from(&server, address(1), "change_password", Some(&cookie), &form).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let counts: serde_json::Value = serde_json::from_str(&changed.body).unwrap();
    assert_eq!(counts["tokens_revoked"], 2, "{}", changed.body);
    assert_eq!(counts["sessions_ended"], 1, "{}", changed.body);

    for ws in [&mut first_ws, &mut second_ws, &mut other_ws] {
        let (code, _) = closed_within(ws, Duration::from_secs(5)).await;
        assert_eq!(code, close_code::SESSION_ENDED);
    }
    for stolen in [&first, &second] {
        let err = server
            .try_ws(&v(), None, None, Some(stolen))
            .await
            .unwrap_err();
        assert_eq!(status_of(err), 401);
    }
    let listed = api_from(&server, address(1), "list_tokens", Some(&cookie), &[]).await;
    assert_eq!(listed.body, "[]");
    // The session that made the change carries on and can make new tokens that work.
    let fresh = token(&server, &cookie, "bot three", "").await;
    bot(&server, &fresh).await;
}

#[tokio::test]
async fn an_expiring_token_is_listed_refused_after_expiry_and_its_socket_closed_then() {
    let server = TestServer::start().await;
    let cookie = server.register("heidi", PASSWORD).await;
    for bad in ["0", "31536001", "soon", "-5"] {
        let form = [("name", "bad"), ("expires_in_secs", bad)];
        let refused = api_from(&server, address(1), "create_token", Some(&cookie), &form).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert!(refused.body.contains("token_expiry"), "{}", refused.body);
    }

    let secret = token(&server, &cookie, "short-lived", "3").await;
    let listed = api_from(&server, address(1), "list_tokens", Some(&cookie), &[]).await;
    let tokens: serde_json::Value = serde_json::from_str(&listed.body).unwrap();
    let created = tokens[0]["created_at"].as_i64().unwrap();
    assert_eq!(tokens[0]["expires_at"].as_i64(), Some(created + 3));

    let mut ws = bot(&server, &secret).await;
    let started = Instant::now();
    let (code, reason) = closed_within(&mut ws, PATIENCE).await;
    assert_eq!(code, close_code::SESSION_ENDED);
    assert!(reason.contains("expired"), "{reason}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "closed at its expiry, not at once: {:?}",
        started.elapsed()
    );
    let err = server
        .try_ws(&v(), None, None, Some(&secret))
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 401);
}

#[tokio::test]
async fn a_socket_is_closed_when_its_session_expires_without_sending_anything() {
    let server = TestServer::start_with(|c| c.session_ttl = Duration::from_secs(3)).await;
    let cookie = server.register("ivan", PASSWORD).await;
    let mut ws = server.ws(&cookie).await;
    let started = Instant::now();
    let (code, reason) = closed_within(&mut ws, PATIENCE).await;
    assert_eq!(code, close_code::SESSION_ENDED);
    assert!(reason.contains("expired"), "{reason}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    let err = server.try_browser_ws(&cookie).await.unwrap_err();
    assert_eq!(status_of(err), 401);
}

#[tokio::test]
async fn an_idle_session_closes_its_socket_and_a_used_socket_keeps_its_session_alive() {
    let server = TestServer::start_with(|c| c.session_idle = Duration::from_secs(4)).await;
    let idle_cookie = server.register("judy", PASSWORD).await;
    let busy_cookie = server.login("judy", PASSWORD).await.cookie.unwrap();
    let mut idle = server.ws(&idle_cookie).await;
    let mut busy = server.ws(&busy_cookie).await;
    busy.send(Message::text(r#"{"type":"resume","cursors":[]}"#))
        .await
        .unwrap();

    // The busy socket makes a request every second for three idle periods.
    let started = Instant::now();
    let using = async {
        while started.elapsed() < Duration::from_secs(12) {
            busy.send(Message::text(r#"{"type":"list_rooms"}"#))
                .await
                .unwrap();
            loop {
                match next_frame(&mut busy).await {
                    ServerFrame::Rooms { .. } => break,
                    error @ ServerFrame::Error { .. } => panic!("the busy socket got {error:?}"),
                    _ => {}
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    let (_, (code, reason)) = tokio::join!(using, closed_within(&mut idle, PATIENCE));
    assert_eq!(code, close_code::SESSION_ENDED);
    assert!(reason.contains("idle"), "{reason}");
    let err = server.try_browser_ws(&idle_cookie).await.unwrap_err();
    assert_eq!(status_of(err), 401);

    // Past three idle periods, the used session still works over HTTP; left alone, it ends.
    let me = api_from(&server, address(1), "current_user", Some(&busy_cookie), &[]).await;
    assert!(me.body.contains("judy"), "{}", me.body);
    let (code, _) = closed_within(&mut busy, PATIENCE).await;
    assert_eq!(code, close_code::SESSION_ENDED);
}

#[tokio::test]
async fn the_owner_logs_in_from_a_clean_address_while_many_addresses_fail() {
    // Default throttling; only the per-address budget is raised (the harness does that).
    let server = TestServer::start().await;
    server.register("karl", PASSWORD).await;
    // Seven addresses guess twice each; once the account's budget is spent, an address that
    // has already failed is refused without being tried.
    let mut statuses = Vec::new();
    for n in 2..=8 {
        for _ in 0..2 {
            statuses.push(login_from(&server, n, "karl", "guess guess").await.status);
        }
    }
    let tried = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        tried >= 10 && statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let tainted = login_from(&server, 2, "karl", PASSWORD).await;
    assert_eq!(
        tainted.status, 429,
        "an address that failed waits: {}",
        tainted.body
    );
    assert!(tainted.retry_after.unwrap() >= 1);
    let owner = login_from(&server, 20, "karl", PASSWORD).await;
    assert_eq!(
        owner.status, 200,
        "the clean address gets in: {}",
        owner.body
    );
    // A guess from a clean address is still tried (and fails), but only once.
    assert_eq!(login_from(&server, 21, "karl", "guess").await.status, 401);
    assert_eq!(login_from(&server, 21, "karl", "guess").await.status, 429);
}

#[tokio::test]
async fn an_attacker_from_one_address_is_slowed_exponentially_but_not_locked_out() {
    let server = TestServer::start_with(|c| {
        c.login_failures_per_pair = 2;
        c.login_failures_per_account = 10_000;
    })
    .await;
    server.register("lena", PASSWORD).await;
    for _ in 0..2 {
        assert_eq!(
            login_from(&server, 5, "lena", "guess guess").await.status,
            401
        );
    }
    let mut waits = Vec::new();
    for _ in 0..4 {
        assert_eq!(
            login_from(&server, 5, "lena", "guess guess").await.status,
            401
        );
        let refused = login_from(&server, 5, "lena", PASSWORD).await;
        assert_eq!(refused.status, 429, "even the right password waits");
        let wait = refused.retry_after.unwrap();
        waits.push(wait);
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    assert!(
        waits.windows(2).all(|w| w[1] > w[0]) && waits[3] >= 4,
        "each lock longer than the last: {waits:?}"
    );
    // Someone else is never slowed by this, and the owner gets in once the lock is over.
    assert_eq!(login_from(&server, 6, "lena", PASSWORD).await.status, 200);
    assert_eq!(login_from(&server, 5, "lena", PASSWORD).await.status, 200);
}
