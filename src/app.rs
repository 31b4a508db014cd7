//! The Leptos UI, rendered on the server and hydrated in the browser.
//!
//! [`shell`] is the HTML document the server renders around [`App`]. The app owns one
//! [`ConnectionStatus`] signal and one [`Chat`], provided as context; in the browser
//! `chat::socket` runs the WebSocket client (`crate::ws_client`), feeds what it receives into
//! the chat and its link state into the status, which [`connection::ConnectionIndicator`]
//! shows.
//!
//! Features: [`account`] (account pages and forms), [`chat`] (the chat screen, its components
//! and model), [`connection`] (the indicator). The app depends on `protocol`, `auth` and, in the
//! browser, `ws_client`; it never names `crate::server`: the server renders it through [`shell`] and [`App`],
//! and serves what it asks for through traits the app defines (`chat::first_paint::ChatSource`).

pub mod account;
pub mod chat;
pub mod connection;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{A, Route, Router, Routes},
    path,
};

use self::{
    account::{AccountBar, LoginPage, RegisterPage, Session, SettingsPage},
    chat::{Chat, ChatScreen, ConversationPage},
    connection::ConnectionStatus,
};

/// The HTML document around the app, rendered on the server (which wraps it to give the page
/// its CSP nonce first).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HashedStylesheet options=options.clone() id="leptos" />
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

/// The root component: page chrome, the account bar, and the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(RwSignal::new(ConnectionStatus::Connecting));
    provide_context(Chat::new());

    view! {
        <Title text="switchboard" />
        <Router>
            <Layout />
        </Router>
    }
}

/// Everything inside the router. The account actions are created here, not in [`App`], because
/// the router is what reads a no-JS form's error back out of the URL for them.
#[component]
fn Layout() -> impl IntoView {
    account::provide_session();
    view! {
            <header class="topbar">
                <a class="brand" href="/">
                    "switchboard"
                </a>
                <AccountBar />
            </header>
            <Banner />
            <main class="content">
                // Async: pages wait for the account lookup, so the HTML is complete without WASM.
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("register") view=RegisterPage ssr=SsrMode::Async />
                    <Route path=path!("settings") view=SettingsPage ssr=SsrMode::Async />
                    <Route path=path!("c/:id") view=ConversationPage ssr=SsrMode::Async />
                </Routes>
            </main>
    }
}

/// A banner while the socket is down, so nobody types into a void without knowing.
#[component]
fn Banner() -> impl IntoView {
    let status = expect_context::<RwSignal<ConnectionStatus>>();
    move || {
        (status.get() == ConnectionStatus::Reconnecting).then(|| {
            view! {
                <div class="banner" role="alert" data-testid="offline-banner">
                    "Connection lost — reconnecting. Messages you send now are kept and sent when it is back."
                </div>
            }
        })
    }
}

/// The landing page.
#[component]
fn HomePage() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <section class="welcome">
            <h1>"Real-time chat that never loses a message"</h1>
            <p>
                "Every message is stored before it is delivered, arrives in the same order for "
                "everyone, and survives reconnects, restarts and slow networks."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.user.await {
                        Ok(Some(_)) => view! { <ChatScreen open=None /> }.into_any(),
                        _ => {
                            view! {
                                <p class="cta">
                                    <A href="/register" attr:class="button">
                                        "Create an account"
                                    </A>
                                    " or "
                                    <A href="/login">"log in"</A>
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
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
