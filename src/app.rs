//! The Leptos UI, rendered on the server and hydrated in the browser.
//!
//! [`shell`] is the HTML document the server renders around [`App`]. The app owns one
//! [`ConnectionStatus`] signal, provided as context; in the browser the WebSocket client
//! (`crate::ws_client`) drives it and [`connection::ConnectionIndicator`] shows it.

pub mod connection;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use self::connection::{ConnectionIndicator, ConnectionStatus};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The root component: page chrome, the connection status, and the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let status = RwSignal::new(ConnectionStatus::Connecting);
    provide_context(status);

    // Effects run only in the browser, after hydration: that is where the socket lives.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| crate::ws_client::start(status));

    view! {
        <Stylesheet id="leptos" href="/pkg/switchboard.css" />
        <Title text="switchboard" />
        <Router>
            <header class="topbar">
                <a class="brand" href="/">
                    "switchboard"
                </a>
                <ConnectionIndicator />
            </header>
            <main class="content">
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage />
                </Routes>
            </main>
        </Router>
    }
}

/// The landing page.
#[component]
fn HomePage() -> impl IntoView {
    view! {
        <section class="welcome">
            <h1>"Real-time chat that never loses a message"</h1>
            <p>
                "Every message is stored before it is delivered, arrives in the same order for "
                "everyone, and survives reconnects, restarts and slow networks."
            </p>
        </section>
    }
}

/// Shown for any path the router does not know.
#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <section class="welcome">
            <h1>"Not found"</h1>
            <p>
                <a href="/">"Back to switchboard"</a>
            </p>
        </section>
    }
}
