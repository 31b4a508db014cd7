//! HTTP helpers for tests that talk to a switchboard process by address.
#![allow(dead_code)]

use switchboard::protocol::UserId;

/// The Origin the binaries these helpers talk to are started with (`websocket.allowed_origins`).
pub const ORIGIN: &str = "http://test.invalid";

/// The admin token the binaries are started with (`SWITCHBOARD_SERVER_ADMIN_TOKEN`).
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// GETs an admin endpoint (`/healthz`, `/readyz`, `/metrics`) of the server at `addr` with the
/// admin token.
pub async fn admin_get(addr: &str, path: &str) -> reqwest::Result<reqwest::Response> {
    reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
}

/// Registers `name` (password "correct horse battery") through the server at `addr` (started
/// with [`ORIGIN`] allowed); returns the session cookie (`name=value`) and the user id.
pub async fn register(addr: &str, name: &str) -> (String, UserId) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/register"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", ORIGIN)
        .body(format!("username={name}&password=correct+horse+battery"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let account: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    (cookie, UserId(account["id"].as_i64().unwrap()))
}
