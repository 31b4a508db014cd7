//! PROTOCOL.md, *Connecting*.
//!
//! 403 for a foreign Origin: `tests/server.rs`
//! (`upgrade_from_a_foreign_or_missing_origin_is_refused_with_403`); 401 and tokens:
//! `tests/accounts.rs`; caps (429, 503): `tests/limits.rs`; 4000: `tests/server.rs`.

use crate::harness::{TestServer, status_of};
use switchboard::protocol::{PROTOCOL_VERSION, ServerFrame};

#[tokio::test]
async fn no_origin_and_no_token_is_403_even_with_a_valid_cookie() {
    let server = TestServer::start().await;
    let (cookie, _) = server.user("noorigin").await;
    let refused = server
        .try_ws(&PROTOCOL_VERSION.to_string(), None, Some(&cookie), None)
        .await
        .expect_err("refused");
    assert_eq!(status_of(refused), 403);
    let refused = server
        .try_ws(&PROTOCOL_VERSION.to_string(), None, None, None)
        .await
        .expect_err("refused");
    assert_eq!(status_of(refused), 403, "the Origin is checked first");
}

#[tokio::test]
async fn hello_names_the_user_and_the_heartbeat() {
    let server =
        TestServer::start_with(|c| c.heartbeat = std::time::Duration::from_millis(4321)).await;
    let (cookie, user) = server.user("greeted").await;
    let mut ws = server.try_browser_ws(&cookie).await.unwrap();
    match crate::harness::next_frame(&mut ws).await {
        ServerFrame::Hello {
            protocol,
            user: u,
            heartbeat_ms,
            ..
        } => {
            assert_eq!(protocol, PROTOCOL_VERSION);
            assert_eq!(u, user);
            assert_eq!(heartbeat_ms, 4321);
        }
        other => panic!("expected hello, got {other:?}"),
    }
}
