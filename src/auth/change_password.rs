//! `POST /api/change_password`: change the password; every other session is logged out and
//! every access token revoked.

use leptos::prelude::*;

use super::{ApiError, PasswordChanged};

/// Checks the current password, stores the new one, and revokes the user's other sessions and
/// all their access tokens (closing their sockets); says how many of each. This session stays
/// logged in.
#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<PasswordChanged, ApiError> {
    let call = super::ssr::Call::current()?;
    let identity = call.require_identity().await?;
    call.state
        .accounts
        .change_password(&identity, &current_password, &new_password)
        .await
}
