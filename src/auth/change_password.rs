//! `POST /api/change_password`: change the password; every other session is logged out.

use leptos::prelude::*;

use super::ApiError;

/// Checks the current password, stores the new one, and revokes the user's other sessions
/// (closing their sockets). This session stays logged in.
#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), ApiError> {
    let call = super::ssr::Call::current()?;
    let identity = call.require_identity().await?;
    call.state
        .accounts
        .change_password(&identity, &current_password, &new_password)
        .await
}
