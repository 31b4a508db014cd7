//! Access tokens: create (with an optional lifetime), provision service accounts, list, revoke.

use super::{Accounts, Identity, Provisioned, internal, now, secret};
use crate::{
    auth::{self, ApiError, TokenInfo},
    server::{
        live::Credential,
        routing::Origin,
        store::{CredentialRowId, NewUser, StoreError},
    },
};

impl Accounts {
    /// Creates a personal access token that lives `lifetime_secs` (or until revoked); the
    /// returned secret is shown once and never again.
    pub async fn create_token(
        &self,
        identity: &Identity,
        name: &str,
        lifetime_secs: Option<u64>,
    ) -> Result<String, ApiError> {
        let name = auth::token_name(name)?;
        let token = secret::access_token();
        let at = now();
        let expires_at =
            lifetime_secs.map(|secs| at.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)));
        self.store
            .create_token(
                identity.user.id,
                &name,
                &secret::digest(&token),
                at,
                expires_at,
            )
            .await
            .map_err(internal)?;
        Ok(token)
    }

    /// Creates `count` users named `<prefix><n>` with one access token each, for load tests and
    /// service accounts (see `switchboard admin provision`). Their password is random and thrown
    /// away (one hash shared by the batch, which is as unguessable as one per user), so they can
    /// only authenticate with their tokens. All or nothing: a taken name creates none.
    pub async fn provision(
        &self,
        prefix: &str,
        count: usize,
    ) -> Result<Vec<Provisioned>, ApiError> {
        let unusable = self.passwords.hash(&secret::access_token()).await?;
        let mut names = Vec::with_capacity(count);
        for n in 0..count {
            let username = format!("{prefix}{n}");
            let key = auth::username_key(&username)?;
            let token = secret::access_token();
            names.push((username, key, token));
        }
        let rows: Vec<_> = names
            .iter()
            .map(|(username, key, token)| {
                let user = NewUser {
                    username,
                    username_key: key,
                    display_name: username,
                    password_hash: &unusable,
                };
                (user, secret::digest(token))
            })
            .collect();
        let ids = self
            .store
            .create_users_with_tokens(&rows, "provisioned", now())
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => ApiError::UsernameTaken,
                other => internal(other),
            })?;
        Ok(ids
            .into_iter()
            .zip(names)
            .map(|(id, (username, _, token))| Provisioned {
                id,
                username,
                token,
            })
            .collect())
    }

    /// The user's live access tokens.
    pub async fn tokens(&self, identity: &Identity) -> Result<Vec<TokenInfo>, ApiError> {
        self.store.tokens(identity.user.id).await.map_err(internal)
    }

    /// Revokes one of the user's tokens and closes the sockets it opened.
    pub async fn revoke_token(
        &self,
        identity: &Identity,
        id: CredentialRowId,
    ) -> Result<(), ApiError> {
        if self
            .store
            .revoke_token(identity.user.id, id, now())
            .await
            .map_err(internal)?
        {
            self.live.revoke(Credential::Token(id), Origin::Local);
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }
}
