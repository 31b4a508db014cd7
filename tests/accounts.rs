//! Accounts, sessions, tokens and the authenticated handshake, against the real server.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{TestServer, assert_pongs, next_close_code, next_frame, status_of};
use switchboard::protocol::{PROTOCOL_VERSION, ServerFrame, close_code};

const PASSWORD: &str = "correct horse battery";

fn v() -> String {
    PROTOCOL_VERSION.to_string()
}

#[tokio::test]
async fn register_sets_a_hardened_cookie_and_the_socket_knows_the_user() {
    let server = TestServer::start().await;
    let response = server
        .api(
            "register",
            None,
            &[
                ("username", "Alice"),
                ("display_name", "Alice A."),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let set_cookie = response.set_cookie.unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "Secure only when configured: {set_cookie}"
    );
    let account: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(account["display_name"], "Alice A.");

    let cookie = response.cookie.unwrap();
    let me = server.api("current_user", Some(&cookie), &[]).await;
    assert!(me.body.contains("\"username\":\"Alice\""), "{}", me.body);
    let mut client = server
        .try_ws(&v(), Some(&server.origin()), Some(&cookie), None)
        .await
        .unwrap();
    match next_frame(&mut client).await {
        ServerFrame::Hello { user, .. } => assert_eq!(user.0, account["id"].as_i64().unwrap()),
        other => panic!("expected hello, got {other:?}"),
    }
}

#[tokio::test]
async fn secure_cookie_is_marked_secure_when_configured() {
    let server = TestServer::start_with(|c| c.secure_cookie = true).await;
    let response = server
        .api(
            "register",
            None,
            &[("username", "sec"), ("password", PASSWORD)],
        )
        .await;
    assert!(response.set_cookie.unwrap().contains("; Secure"));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let server = TestServer::start().await;
    server.register("bob", PASSWORD).await;
    let wrong = server.login("bob", "not the password").await;
    let unknown = server.login("nobody", "not the password").await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(wrong.body, unknown.body);
    assert!(wrong.cookie.is_none());
    assert_eq!(
        server.login("BOB", PASSWORD).await.status,
        200,
        "usernames ignore case"
    );
}

#[tokio::test]
async fn a_taken_username_ignoring_case_is_409_and_stores_nothing() {
    let server = TestServer::start().await;
    server.register("Carol", PASSWORD).await;
    let again = server
        .api(
            "register",
            None,
            &[("username", "carol"), ("password", "another password")],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("username_taken"));
    assert_eq!(server.login("carol", "another password").await.status, 401);
    assert_eq!(server.login("carol", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn upgrade_without_a_valid_session_is_401() {
    let server = TestServer::start().await;
    let origin = server.origin();
    let fake = format!("sb_session={}", "A".repeat(43));
    for cookie in [
        None,
        Some("sb_session=garbage"),
        Some(fake.as_str()),
        Some("sb_session="),
    ] {
        let err = server
            .try_ws(&v(), Some(&origin), cookie, None)
            .await
            .unwrap_err();
        assert_eq!(status_of(err), 401, "{cookie:?}");
    }
    let err = server
        .try_ws(&v(), Some(&origin), None, Some("sbt_notatoken"))
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 401);
}

#[tokio::test]
async fn logging_out_closes_that_sessions_sockets_within_a_second() {
    let server = TestServer::start().await;
    let cookie = server.register("dave", PASSWORD).await;
    let mut other_device = server
        .ws(&server.login("dave", PASSWORD).await.cookie.unwrap())
        .await;
    let mut tab1 = server.ws(&cookie).await;
    let mut tab2 = server.ws(&cookie).await;

    let started = Instant::now();
    let response = server.api("logout", Some(&cookie), &[]).await;
    assert_eq!(response.status, 200);
    assert!(response.set_cookie.unwrap().contains("Max-Age=0"));
    assert_eq!(next_close_code(&mut tab1).await, close_code::SESSION_ENDED);
    assert_eq!(next_close_code(&mut tab2).await, close_code::SESSION_ENDED);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // The other session is untouched; the logged-out one cannot come back.
    assert_pongs(&mut other_device, 1).await;
    let err = server
        .try_ws(&v(), Some(&server.origin()), Some(&cookie), None)
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 401);
}

#[tokio::test]
async fn changing_the_password_logs_out_every_other_session() {
    let server = TestServer::start().await;
    let here = server.register("erin", PASSWORD).await;
    let there = server.login("erin", PASSWORD).await.cookie.unwrap();
    let mut here_ws = server.ws(&here).await;
    let mut there_ws = server.ws(&there).await;

    let wrong = server
        .api(
            "change_password",
            Some(&here),
            &[
                ("current_password", "wrong one!"),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("current_password"), "{}", wrong.body);

    let changed = server
        .api(
            "change_password",
            Some(&here),
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        next_close_code(&mut there_ws).await,
        close_code::SESSION_ENDED
    );
    assert_pongs(&mut here_ws, 2).await;

    assert_eq!(
        server.api("current_user", Some(&there), &[]).await.body,
        "null"
    );
    assert_eq!(server.login("erin", PASSWORD).await.status, 401);
    assert_eq!(server.login("erin", "a brand new secret").await.status, 200);
}

#[tokio::test]
async fn a_login_flood_from_one_address_is_limited_per_address() {
    // Per-account throttling is in tests/credentials.rs; here only the address budget counts.
    let server = TestServer::start_with(|c| c.login_per_address = 6).await;
    server.register("frank", PASSWORD).await;
    // Guesses spread over many accounts (1 register + 5 log-ins) spend the address's budget.
    for n in 0..5 {
        let status = server
            .login(&format!("someone{n}"), "guess guess")
            .await
            .status;
        assert_eq!(status, 401);
    }
    let limited = server.login("frank", PASSWORD).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.retry_after.unwrap().parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn access_tokens_open_sockets_without_origin_until_revoked() {
    let server = TestServer::start().await;
    let cookie = server.register("bot_owner", PASSWORD).await;
    let created = server
        .api("create_token", Some(&cookie), &[("name", "my bot")])
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let token: String = serde_json::from_str(&created.body).unwrap();
    assert!(token.starts_with("sbt_"));

    let mut bot = server.try_ws(&v(), None, None, Some(&token)).await.unwrap();
    assert!(matches!(
        next_frame(&mut bot).await,
        ServerFrame::Hello { .. }
    ));

    let listed = server.api("list_tokens", Some(&cookie), &[]).await;
    assert!(
        !listed.body.contains(&token),
        "the secret is never listed again"
    );
    let tokens: serde_json::Value = serde_json::from_str(&listed.body).unwrap();
    let id = tokens[0]["id"].as_i64().unwrap().to_string();
    assert!(tokens[0]["last_used_at"].is_i64());

    let revoked = server
        .api("revoke_token", Some(&cookie), &[("id", &id)])
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(next_close_code(&mut bot).await, close_code::SESSION_ENDED);
    // The stolen-but-revoked token is refused, with or without an Origin.
    let err = server
        .try_ws(&v(), None, None, Some(&token))
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 401);
    let err = server
        .try_ws(&v(), Some(&server.origin()), None, Some(&token))
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 401);
    let again = server
        .api("revoke_token", Some(&cookie), &[("id", &id)])
        .await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn tokens_without_origin_can_be_disallowed() {
    let server = TestServer::start_with(|c| c.allow_token_without_origin = false).await;
    let cookie = server.register("strict", PASSWORD).await;
    let token: String = serde_json::from_str(
        &server
            .api("create_token", Some(&cookie), &[("name", "cli")])
            .await
            .body,
    )
    .unwrap();
    let err = server
        .try_ws(&v(), None, None, Some(&token))
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 403);
    assert!(
        server
            .try_ws(&v(), Some(&server.origin()), None, Some(&token))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_writes_nothing() {
    let server = TestServer::start().await;
    let long = "a".repeat(1000);
    let huge_password = "p".repeat(10_000);
    /// An `/api` endpoint, the form sent to it, and the status it must answer.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case> = vec![
        (
            "register",
            vec![("username", ""), ("password", PASSWORD)],
            400,
        ),
        (
            "register",
            vec![("username", &long), ("password", PASSWORD)],
            400,
        ),
        (
            "register",
            vec![
                ("username", "a'; DROP TABLE users;--"),
                ("password", PASSWORD),
            ],
            400,
        ),
        (
            "register",
            vec![("username", "grace"), ("password", "")],
            400,
        ),
        (
            "register",
            vec![("username", "grace"), ("password", &huge_password)],
            400,
        ),
        ("register", vec![("username", "grace")], 400),
        (
            "register",
            vec![
                ("username", "grace"),
                ("display_name", "x\u{7}y"),
                ("password", PASSWORD),
            ],
            400,
        ),
        ("login", vec![("username", "grace")], 400),
        (
            "login",
            vec![("username", "a' OR '1'='1"), ("password", "' OR '1'='1")],
            401,
        ),
        ("create_token", vec![("name", "no session")], 401),
        (
            "change_password",
            vec![("current_password", "x"), ("new_password", "y")],
            401,
        ),
        ("revoke_token", vec![("id", "not a number")], 400),
    ];
    for (endpoint, form, status) in &cases {
        let response = server.api(endpoint, None, form).await;
        assert_eq!(
            response.status, *status,
            "{endpoint} {form:?}: {}",
            response.body
        );
        assert!(response.cookie.is_none(), "{endpoint} {form:?}");
    }
    let invalid_utf8 = server
        .api_raw(
            "register",
            None,
            b"username=gr%FF%FEce&password=correct+horse+battery".to_vec(),
        )
        .await;
    assert_eq!(invalid_utf8.status, 400, "{}", invalid_utf8.body);
    let huge = server
        .api_raw("register", None, vec![b'a'; 2 * 1024 * 1024])
        .await;
    assert_eq!(huge.status, 413);
    let unknown = server.api("no_such_function", None, &[]).await;
    assert!((400..500).contains(&unknown.status), "{}", unknown.status);
    let malformed_cookie = server
        .api("current_user", Some("sb_session=%%%\"; =; other=;;;"), &[])
        .await;
    assert_eq!(
        (malformed_cookie.status, malformed_cookie.body.as_str()),
        (200, "null")
    );

    // Nothing was half-written: the name is still free and the table is intact.
    server.register("grace", PASSWORD).await;
    assert_eq!(server.login("grace", PASSWORD).await.status, 200);
}
