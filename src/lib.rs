//! # switchboard
//!
//! A real-time chat server and web app. Its heart is message routing: a server that keeps a table
//! of who is connected and delivers every message to exactly the right people, in order, once,
//! across reconnects, crashes and slow networks.
//!
//! One crate, two halves built by cargo-leptos: the **server** (feature `ssr`: axum + tokio)
//! renders the Leptos UI and serves `/ws`; the **browser** half (feature `hydrate`: WASM)
//! hydrates that UI and talks to the server over one WebSocket.
//!
//! ## The request path
//!
//! ```text
//! browser                                  server
//!   app ── ws_client ══ /ws ══ socket ── requests ── committer ── store (persist, assign seq)
//!                                 ▲                      │ ack, then
//!                          writer ◄── hub (fan-out to every connection of every member)
//!        └──── both speak `protocol` (shared wire types) ────┘
//! ```
//!
//! ## Layout
//!
//! * [`protocol`] — wire frames, ids, versions, error and close codes; compiled into both halves.
//! * [`app`] — the Leptos UI: the HTML shell, routes, account pages, the connection indicator.
//! * [`auth`] — account rules and the `/api` server functions (one per file: register, login,
//!   logout, current_user, change_password, tokens); `auth::ssr` is their server-side plumbing.
//! * `ws_client` (hydrate) — the browser's WebSocket: handshake, heartbeat, backoff, reconnect.
//! * `server` (ssr) — axum routes and the run loop:
//!   * `server::config` — `Leptos.toml` + `SWITCHBOARD_*` environment, validated at start-up;
//!   * `server::listener` — the accept loop: connection caps (`listener/capacity.rs`), header
//!     and keep-alive clocks per connection (`listener/activity.rs`), the body timeout;
//!   * `server::upgrade` — the `/ws` upgrade: origin, authentication, per-user and WebSocket caps;
//!   * `server::socket` — one connection: greet, check and decode frames; `socket/writer.rs`
//!     drains its bounded queue, delivering each conversation in seq order (gap fill, dedupe);
//!   * `server::requests` — what each client frame does; membership checked on every frame;
//!     `requests/limits.rs` holds the per-user frame budgets, checked before any store work;
//!   * `server::committer` — group commit: persist a batch, ack, then fan out;
//!   * `server::hub` — connection table by user and conversation, fan-out, presence;
//!   * `server::shutdown` — the shutdown signal and the wait for sockets to say goodbye;
//!   * `server::accounts` — register, log in, sessions, tokens (Argon2id, rate limits);
//!   * `server::live` — open sockets by credential, so revocation closes them;
//!   * `server::store` — the database behind one narrow interface (SQLite or Postgres);
//!     `store/directory.rs` pages the public room directory.
// Leptos views are deeply nested types; the chat screen needs more than the default 128.
#![recursion_limit = "256"]

pub mod app;
pub mod auth;
#[cfg(all(feature = "client", not(target_arch = "wasm32")))]
pub mod client;
#[cfg(feature = "ssr")]
pub mod devkit;
pub mod protocol;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "hydrate")]
mod ws_client;

/// Entry point of the WASM bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
