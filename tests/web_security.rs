//! The browser-facing protections, tried as an attacker would: the real server on a loopback
//! port, real HTTP. Cross-site posts (another site, a sibling port on the same host, `text/plain`,
//! no content type, no Origin), log-in CSRF, the no-JS form flow's redirects and error texts,
//! the security headers, and the admin endpoints.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use std::time::{Duration, Instant};

use base64::Engine;
use harness::{ADMIN_TOKEN, TestServer};
use reqwest::{Response, header::HeaderMap};

const PASSWORD: &str = "correct horse battery";

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs `body` to `/api/<endpoint>` with exactly the given headers.
async fn post(
    server: &TestServer,
    endpoint: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut request = client()
        .post(server.url(&format!("/api/{endpoint}")))
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// What the user's session can see: its account (`null` when logged out) and its tokens.
async fn account_and_tokens(server: &TestServer, cookie: &str) -> (String, String) {
    let account = server.api("current_user", Some(cookie), &[]).await.body;
    let tokens = server.api("list_tokens", Some(cookie), &[]).await.body;
    (account, tokens)
}

#[tokio::test]
async fn posts_from_another_site_or_a_sibling_port_change_nothing_and_get_403() {
    let server = TestServer::start().await;
    let cookie = server.register("victim", PASSWORD).await;
    let before = account_and_tokens(&server, &cookie).await;
    assert!(
        before.0.contains("victim") && before.1 == "[]",
        "{before:?}"
    );
    let sibling = format!("http://127.0.0.1:{}", server.addr.port() + 1);
    for origin in [
        "http://evil.example",
        sibling.as_str(),
        "null",
        "http://localhost",
    ] {
        for (endpoint, body) in [("create_token", "name=stolen"), ("logout", "")] {
            for accept in ["text/html", "application/json"] {
                let response = post(
                    &server,
                    endpoint,
                    &[
                        ("origin", origin),
                        ("cookie", &cookie),
                        ("accept", accept),
                        FORM,
                    ],
                    body,
                )
                .await;
                assert_eq!(response.status(), 403, "{endpoint} from {origin}");
                assert!(response.headers().get("set-cookie").is_none());
                assert_eq!(response.text().await.unwrap(), "origin not allowed");
            }
        }
    }
    assert_eq!(account_and_tokens(&server, &cookie).await, before);
}

#[tokio::test]
async fn text_plain_and_a_missing_content_type_are_refused_even_from_the_own_origin() {
    let server = TestServer::start().await;
    let cookie = server.register("plain", PASSWORD).await;
    let origin = server.origin();
    for content_type in [
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut headers = vec![("origin", origin.as_str()), ("cookie", cookie.as_str())];
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        let response = post(&server, "create_token", &headers, "name=sneaky").await;
        assert_eq!(response.status(), 415, "{content_type:?}");
    }
    assert_eq!(account_and_tokens(&server, &cookie).await.1, "[]");
}

#[tokio::test]
async fn without_origin_a_cookie_is_refused_but_a_bearer_token_alone_is_let_through() {
    let server = TestServer::start().await;
    let cookie = server.register("scripted", PASSWORD).await;
    let created = server
        .api("create_token", Some(&cookie), &[("name", "bot")])
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let token: String = serde_json::from_str(&created.body).unwrap();
    let bearer = format!("Bearer {token}");

    let refused = post(&server, "logout", &[("cookie", &cookie), FORM], "").await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().starts_with("no Origin"));
    let anonymous = post(
        &server,
        "login",
        &[FORM],
        &format!("username=scripted&password={}", PASSWORD.replace(' ', "+")),
    )
    .await;
    assert_eq!(anonymous.status(), 403, "no Origin and no credential");

    let with_token = post(
        &server,
        "current_user",
        &[("authorization", &bearer), FORM],
        "",
    )
    .await;
    // Past the check; `/api` itself knows callers by their cookie only, so this one is nobody.
    let status = with_token.status();
    let body = with_token.text().await.unwrap();
    assert_eq!((status.as_u16(), body.as_str()), (200, "null"));
    let token_and_cookie = post(
        &server,
        "current_user",
        &[("authorization", &bearer), ("cookie", &cookie), FORM],
        "",
    )
    .await;
    assert_eq!(token_and_cookie.status(), 403);
}

#[tokio::test]
async fn sec_fetch_site_stands_in_for_origin_only_when_it_says_same_origin() {
    let server = TestServer::start().await;
    let cookie = server.register("fetcher", PASSWORD).await;
    for site in ["same-site", "cross-site", "none"] {
        let response = post(
            &server,
            "create_token",
            &[("sec-fetch-site", site), ("cookie", &cookie), FORM],
            "name=x",
        )
        .await;
        assert_eq!(response.status(), 403, "{site}");
    }
    assert_eq!(account_and_tokens(&server, &cookie).await.1, "[]");
    let same = post(
        &server,
        "create_token",
        &[("sec-fetch-site", "same-origin"), ("cookie", &cookie), FORM],
        "name=mine",
    )
    .await;
    assert_eq!(same.status(), 200);
}

/// A no-JS form post of the log-in form, as a browser on `origin` sends it.
async fn form_login(server: &TestServer, origin: &str, referer: &str, password: &str) -> Response {
    let body = format!("username=owner&password={}", password.replace(' ', "+"));
    post(
        server,
        "login",
        &[
            ("origin", origin),
            ("referer", referer),
            ("accept", "text/html,application/xhtml+xml"),
            FORM,
        ],
        &body,
    )
    .await
}

fn location(headers: &HeaderMap) -> &str {
    headers["location"].to_str().unwrap()
}

#[tokio::test]
async fn log_in_csrf_from_another_site_sets_no_session_while_the_own_form_still_works() {
    let server = TestServer::start().await;
    server.register("owner", PASSWORD).await;
    let forged = form_login(
        &server,
        "http://evil.example",
        "http://evil.example/",
        PASSWORD,
    )
    .await;
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("set-cookie").is_none());

    let own = server.origin();
    let real = form_login(&server, &own, &server.url("/login"), PASSWORD).await;
    assert_eq!(real.status(), 302);
    assert_eq!(location(real.headers()), "/");
    assert!(real.headers().get("set-cookie").is_some());
}

#[tokio::test]
async fn a_failed_form_post_goes_back_to_a_same_site_path_with_a_code_never_to_the_referer_host() {
    let server = TestServer::start().await;
    server.register("owner", PASSWORD).await;
    let own = server.origin();
    for referer in [
        "http://evil.example/x?y=1".to_owned(),
        format!("http://127.0.0.1:{}/login", server.addr.port() + 1),
        format!("{own}//evil.example/"),
    ] {
        let response = form_login(&server, &own, &referer, "wrong password").await;
        assert_eq!(response.status(), 302, "{referer}");
        assert_eq!(location(response.headers()), "/", "{referer}");
    }
    // A referer carrying someone's planted error keeps only the server's own code.
    let planted = format!("{own}/login?__path=/api/login&__err=bogus&error=internal");
    let response = form_login(&server, &own, &planted, "wrong password").await;
    let target = location(response.headers()).to_owned();
    assert_eq!(target, "/login?error=bad_credentials");
    let page = client().get(server.url(&target)).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Wrong username or password"), "{html}");
}

#[tokio::test]
async fn an_error_text_in_the_url_never_reaches_the_form() {
    let server = TestServer::start().await;
    let planted = serde_json::json!({
        "error": "invalid", "field": "username", "message": "CALL 555-0100 TO UNLOCK"
    });
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(planted.to_string());
    for path in ["/login", "/register"] {
        let api = if path == "/login" {
            "/api/login"
        } else {
            "/api/register"
        };
        let html = page(server.url(&format!("{path}?__path={api}&__err={encoded}"))).await;
        assert!(html.contains("<form"), "{html}");
        assert!(!html.contains("555-0100"), "{path}: {html}");
    }
    let html = page(server.url("/login?error=CALL%20555-0100")).await;
    assert!(!html.contains("555-0100"), "{html}");
}

/// The text of the page at `url`.
async fn page(url: String) -> String {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of `nonce="..."` on the page's first inline script.
fn script_nonce(html: &str) -> Option<&str> {
    let at = html.find("nonce=\"")? + "nonce=\"".len();
    html[at..].split('"').next()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_pages_a_fresh_nonce() {
    let server = TestServer::start().await;
    let mut nonces = Vec::new();
    for path in ["/", "/login", "/no/such/page"] {
        let response = client().get(server.url(path)).send().await.unwrap();
        let headers = response.headers().clone();
        let html = response.text().await.unwrap();
        let csp = header(&headers, "content-security-policy");
        let nonce = script_nonce(&html).expect("the hydration script has a nonce");
        assert!(csp.contains(&format!("'nonce-{nonce}'")), "{path}: {csp}");
        for part in [
            "default-src 'self'",
            "'wasm-unsafe-eval'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(header(&headers, "cache-control"), "no-store", "{path}");
        nonces.push(nonce.to_owned());
    }
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a nonce is never reused: {nonces:?}");

    let cookie = server.register("headers", PASSWORD).await;
    let api = post(
        &server,
        "current_user",
        &[("origin", &server.origin()), ("cookie", &cookie), FORM],
        "",
    )
    .await;
    let refused = post(
        &server,
        "logout",
        &[("origin", "http://evil.example"), FORM],
        "",
    )
    .await;
    for response in [&api, &refused] {
        let headers = response.headers();
        assert_eq!(header(headers, "x-frame-options"), "DENY");
        assert_eq!(header(headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(headers, "referrer-policy"), "same-origin");
        assert_eq!(header(headers, "cache-control"), "no-store");
        assert!(header(headers, "content-security-policy").starts_with("default-src 'none'"));
    }
}

#[tokio::test]
async fn admin_endpoints_are_not_served_on_the_main_listener_without_the_admin_token() {
    let closed = TestServer::start_with(|c| c.admin_token = None).await;
    for path in ["/metrics", "/healthz", "/readyz"] {
        let response = client().get(closed.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path} without a configured token");
    }
    let server = TestServer::start().await;
    for path in ["/metrics", "/healthz", "/readyz"] {
        let none = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(none.status(), 401, "{path}");
        let wrong = client()
            .get(server.url(path))
            .bearer_auth(format!("{ADMIN_TOKEN}x"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        assert_eq!(server.admin_get(path).await.status(), 200, "{path}");
    }
}

/// Polls `/readyz` until it answers `status`, for at most 60 s.
async fn until_ready_is(server: &TestServer, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if server.admin_get("/readyz").await.status() == status {
            return;
        }
        assert!(Instant::now() < deadline, "/readyz never answered {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn readyz_answers_without_waiting_for_the_write_lock_yet_notices_a_database_that_stays_locked()
 {
    use sqlx::{Connection, sqlite::SqliteConnectOptions};
    let server = TestServer::start().await;
    until_ready_is(&server, 200).await;
    let options = SqliteConnectOptions::new().filename(&server.state.config.database_path);
    let mut holder = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    // Taking the write lock per probe would wait out the 5 s busy timeout and then say 503.
    let ready = server.admin_get("/readyz").await;
    assert_eq!(
        ready.status(),
        200,
        "answered from the last background check"
    );
    until_ready_is(&server, 503).await;
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    until_ready_is(&server, 200).await;
}
