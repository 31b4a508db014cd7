//! `POST /api/find_user`: look a user up by username (to start a direct conversation).

use leptos::prelude::*;

use super::{Account, ApiError};

/// The account with this username (ignoring case), or `None`. Requires a session.
#[server(prefix = "/api", endpoint = "find_user")]
pub async fn find_user(username: String) -> Result<Option<Account>, ApiError> {
    let call = super::ssr::Call::current()?;
    call.require_identity().await?;
    call.state.accounts.find(&username).await
}
