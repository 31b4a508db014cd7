//! `POST /api/logout`: end this session and close its sockets.

use leptos::prelude::*;

use super::ApiError;

/// Revokes the caller's session, closes every socket it opened, and clears the cookie.
/// Logging out without a session is not an error.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    let call = super::ssr::Call::current()?;
    if let Some(identity) = call.identity().await? {
        let cookie = call.state.accounts.logout(&identity).await?;
        call.set_cookie(cookie);
    }
    leptos_axum::redirect("/");
    Ok(())
}
