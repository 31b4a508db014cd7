//! `POST /api/create_token`, `/api/list_tokens`, `/api/revoke_token`: personal access tokens for
//! bots, CLIs and the load generator, which send them as `Authorization: Bearer <token>`.

use leptos::prelude::*;

use super::{ApiError, TokenInfo};

/// Creates a token named `name` and returns its secret, which is shown this once only. It
/// expires `expires_in_secs` seconds from now (1 s to a year), or never when that is absent or
/// empty.
#[server(prefix = "/api", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    #[server(default)] expires_in_secs: String,
) -> Result<String, ApiError> {
    let lifetime = super::token_lifetime(&expires_in_secs)?;
    let call = super::ssr::Call::current()?;
    let identity = call.require_identity().await?;
    call.state
        .accounts
        .create_token(&identity, &name, lifetime)
        .await
}

/// The caller's live tokens (names and dates, never the secrets).
#[server(prefix = "/api", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, ApiError> {
    let call = super::ssr::Call::current()?;
    let identity = call.require_identity().await?;
    call.state.accounts.tokens(&identity).await
}

/// Revokes one of the caller's tokens and closes the sockets it opened.
#[server(prefix = "/api", endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), ApiError> {
    let call = super::ssr::Call::current()?;
    let identity = call.require_identity().await?;
    call.state.accounts.revoke_token(&identity, id).await
}
