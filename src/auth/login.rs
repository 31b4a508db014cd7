//! `POST /api/login`: exchange a username and password for a session cookie.

use leptos::prelude::*;

use super::{Account, ApiError};

/// Logs in. Unknown user and wrong password give the same error; attempts are rate-limited per
/// account and per client address.
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<Account, ApiError> {
    let call = super::ssr::Call::current()?;
    let session = call
        .state
        .accounts
        .login(&username, &password, call.client_ip())
        .await?;
    call.set_cookie(session.cookie);
    leptos_axum::redirect("/");
    Ok(session.account)
}
