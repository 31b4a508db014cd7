//! `POST /api/register`: create an account and log it in.

use leptos::prelude::*;

use super::{Account, ApiError};

/// Creates an account (see [`super::username_key`] for the rules) and sets the session cookie.
#[server(prefix = "/api", endpoint = "register")]
pub async fn register(
    username: String,
    #[server(default)] display_name: String,
    password: String,
) -> Result<Account, ApiError> {
    let call = super::ssr::Call::current()?;
    let session = call
        .state
        .accounts
        .register(&username, &display_name, &password, call.client_ip())
        .await?;
    call.set_cookie(session.cookie);
    leptos_axum::redirect("/");
    Ok(session.account)
}
