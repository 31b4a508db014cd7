//! Server-side plumbing for the `/api` server functions: the app state, the caller's address and
//! identity, and setting cookies on the response.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{HeaderValue, header, request::Parts},
};
use leptos::prelude::*;

use super::ApiError;
use crate::server::{AppState, accounts::Identity};

/// What a server function needs to know about the request it is serving.
pub struct Call {
    /// The application state.
    pub state: AppState,
    /// The request's method, URI and headers.
    pub parts: Parts,
}

impl Call {
    /// The current request, from the context leptos_axum provides.
    pub fn current() -> Result<Self, ApiError> {
        let state = use_context::<AppState>().ok_or(ApiError::Internal)?;
        let parts = use_context::<Parts>().ok_or(ApiError::Internal)?;
        Ok(Self { state, parts })
    }

    /// The client's address (the peer of the TCP connection).
    pub fn client_ip(&self) -> IpAddr {
        self.parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |info| info.0.ip())
    }

    /// The logged-in caller, if the session cookie is valid.
    pub async fn identity(&self) -> Result<Option<Identity>, ApiError> {
        self.state.accounts.from_cookie(&self.parts.headers).await
    }

    /// The logged-in caller, or [`ApiError::Unauthenticated`].
    pub async fn require_identity(&self) -> Result<Identity, ApiError> {
        self.identity().await?.ok_or(ApiError::Unauthenticated)
    }

    /// Adds a `Set-Cookie` header to the response.
    pub fn set_cookie(&self, cookie: HeaderValue) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.append_header(header::SET_COOKIE, cookie);
        }
    }
}
