//! The connection indicator: what the page knows about its WebSocket.

use leptos::prelude::*;

/// The state of the page's WebSocket, as the user should understand it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// First attempt after the page loaded; the server has not greeted us yet.
    Connecting,
    /// The server's hello arrived; the socket is live.
    Connected,
    /// The socket dropped; the client is retrying with backoff.
    Reconnecting,
    /// The server speaks another protocol version; the page must be reloaded.
    Outdated,
    /// The session behind the socket ended (logged out elsewhere, password changed).
    SignedOut,
}

impl ConnectionStatus {
    /// Stable machine name, exposed as `data-state` for styling and tests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Outdated => "outdated",
            Self::SignedOut => "signed-out",
        }
    }

    /// What the user reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting…",
            Self::Connected => "Connected",
            Self::Reconnecting => "Reconnecting…",
            Self::Outdated => "New version available — reload the page",
            Self::SignedOut => "Signed out — log in again",
        }
    }
}

/// A status pill that follows the socket; screen readers hear its changes.
#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let status = expect_context::<RwSignal<ConnectionStatus>>();
    view! {
        <span
            class="connection"
            data-testid="connection"
            data-state=move || status.get().as_str()
            role="status"
            aria-live="polite"
        >
            <span class="dot" aria-hidden="true"></span>
            <span class="label">{move || status.get().label()}</span>
        </span>
    }
}
