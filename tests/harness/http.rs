//! HTTP helpers for tests that talk to a switchboard process by address.
#![allow(dead_code)]

use switchboard::protocol::UserId;

/// Registers `name` (password "correct horse battery") through the server at `addr`; returns
/// the session cookie (`name=value`) and the user id.
pub async fn register(addr: &str, name: &str) -> (String, UserId) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/register"))
        .header("content-type", "application/x-www-form-urlencoded")
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
