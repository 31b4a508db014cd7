//! `POST /api/current_user`: who the session cookie belongs to.

use leptos::prelude::*;

use super::{Account, ApiError};

/// The logged-in account, or `None`.
#[server(prefix = "/api", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<Account>, ApiError> {
    let call = super::ssr::Call::current()?;
    Ok(call
        .identity()
        .await?
        .map(|identity| crate::server::accounts::account(identity.user)))
}
