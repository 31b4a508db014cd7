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
//! browser                                        server
//!   app::chat (model ◄─ socket glue) ── ws_client ══ /ws ══ upgrade ── connection (reader)
//!                                                                      │ requests
//!                          connection::writer ◄── routing (fan-out) ◄── committer ── store
//!                                                   ▲ │ Peers                (persist, seq)
//!                                        cluster ───┘ └──► Redis ◄──► other nodes
//!        └──── both halves speak `protocol` (shared wire types) ────┘
//! ```
//!
//! ## Layout
//!
//! Under `server`, each module uses only modules listed after it (`tests/layers.rs` fails on
//! an import cycle between the modules under `server/`).
//!
//! * [`protocol`] — wire frames (one file per job: client frames, server frames, events,
//!   conversations, errors, close codes, the codec), ids, versions, the store epoch, which
//!   strings are reactions (`reaction.rs`), the `@username` mention rule (`mention.rs`); both
//!   halves.
//! * [`app`] — the Leptos UI: `app.rs` the shell and routes, `app/account*` the account pages,
//!   `app/chat/screen.rs` the chat page, which composes the components (`sidebar`,
//!   `conversation`, `messages`, `message_actions` (a message row with reply, react, edit,
//!   delete), `composer`, `mention_picker` (`@` in the composer), `directory`, `user_form`,
//!   `text`) that never import it; `app/chat/markdown/` message bodies as Markdown (pulldown-cmark events to a capped, safe
//!   tree, rendered as Leptos elements the same in SSR and hydrate); `app/chat/model/` the chat
//!   state as a pure reducer (unit-tested natively; `model/annotations.rs` folds edits,
//!   deletions, replies and reactions into each message's state; `model/consent.rs` the block
//!   list and invitations; `model/acting.rs` who may edit or delete what and the frames
//!   that do it), `app/chat.rs` its reactive handle, `app/chat/socket.rs` the glue
//!   from the transport's callbacks to the model, `app/chat/first_paint.rs` the `ChatSource`
//!   interface the server fills for the server-rendered first paint.
//! * [`auth`] — account rules and the `/api` server functions (one per file: register, login,
//!   logout, current_user, change_password, tokens); `auth::ssr` is their server-side plumbing.
//! * `ws_client` (hydrate) — the browser's transport: handshake, heartbeat, backoff, reconnect;
//!   it reports frames and state through callbacks and knows nothing of the chat model.
//! * `client` (native, feature `client`, on with `ssr`) — the one Rust client for the protocol
//!   (tests, the load generator, later a CLI and bots): `connect` (target, upgrade), `wire`
//!   (frames, requests, a cheap event peek), `session` (hello, epoch, resume, `req` matching),
//!   `outbox` (unacked sends by client_msg_id), `tracker` (cursors and dedupe).
//! * `devkit` (ssr) — switchboard for real on one machine: the process spawner (`spawn`), a
//!   throw-away Postgres and Redis (`postgres`, `redis`), `switchboard dev-services` (`services`,
//!   used by `scripts/cluster.sh`). Nothing under `server` uses it.
//! * `server` (ssr), from the top down:
//!   * `server::run` — bind both listeners, serve, drain on SIGTERM;
//!   * `server::admin` — `/healthz`, `/readyz`, `/metrics` (`admin/endpoints.rs`) and the
//!     `switchboard admin …` commands (`admin/commands.rs`);
//!   * `server::http` — the main router: pages, `/api` (with its status middleware), static
//!     files, the body timeout; `server::web` wraps it (cross-site checks, form redirects,
//!     security headers and the CSP nonce); `server::page` renders the shell with that nonce and
//!     answers the first paint's `ChatSource`;
//!   * `server::upgrade` — the whole `/ws` policy: origin, authentication, per-user and WebSocket
//!     caps, then hands the socket to a connection;
//!   * `server::state` — the composition root: builds the store (waiting for Postgres), the
//!     cluster bus, routing, the committer, accounts, live, readiness and Leptos options;
//!   * `server::error` — why the server could not start or stopped, and its exit codes;
//!   * `server::listener` — the accept loop: connection caps (`listener/capacity.rs`), header and
//!     keep-alive clocks per connection (`listener/activity.rs`);
//!   * `server::connection` — one WebSocket: `reader.rs` (the loop), `greeting.rs` (hello),
//!     `frames.rs` (size check, decode), `heartbeat.rs` (the liveness clock), `writer.rs` (drains
//!     the queue), `delivery.rs` (the per-conversation gap and dedupe rules), `requests/` (what
//!     each client frame does, membership checked on every frame; `requests/limits.rs` the
//!     per-user frame budgets, `requests/order.rs` the send hold, `requests/actions.rs` edit,
//!     delete and reactions, `requests/consent.rs` block/unblock and the block checks,
//!     `requests/invitations.rs` invite, accept, decline);
//!   * `server::accounts` — register, log in, sessions, tokens (Argon2id), log-in throttling,
//!     the credential expiry timer;
//!   * `server::cluster` — cluster mode: the Redis bus (`cluster/wire.rs` the envelope,
//!     `cluster/peers.rs` the peer table, `cluster/tasks.rs` publisher, subscriber, heartbeat,
//!     sweeper); implements routing's `Peers` and live's `PeerRevocations`;
//!   * `server::live` — open sockets by credential, so revocation closes them (across nodes
//!     through `PeerRevocations`);
//!   * `server::committer` — group commit: plan a batch, persist it, ack, then fan out;
//!   * `server::routing` — the hub: connection tables behind one lock (`routing/tables.rs`),
//!     mailboxes and the byte- and age-bounded outgoing queue (`mailbox.rs`, `queue.rs`),
//!     presence written once (`presence.rs`), and the `Peers` trait it needs from other nodes
//!     (`peers.rs`; `Alone` on one node) — it never names the bus;
//!   * `server::store` — the database behind one facade that names no backend, grouped by
//!     feature (`users`, `sessions`, `tokens`, `messages`, `actions` — edits, deletions as
//!     tombstones, reactions —, `blocks`, `rooms` with `rooms/invitations.rs`, `reads`, `epoch`,
//!     `backup`),
//!     each with its SQLite and Postgres code side by side and the SQL written once;
//!     `store/sqlite.rs`, `store/postgres.rs` the connections;
//!   * `server::config` — `Leptos.toml` + `SWITCHBOARD_*`, validated at start-up
//!     (`config/sources.rs` the lookup, `config/checks.rs` each section's rules);
//!   * `server::shutdown` — the shutdown signal and the tracker every background task runs in;
//!   * `server::metrics`, `server::wire` (encode a frame once as shared bytes), `server::clock`
//!     (the one Unix clock) — leaves.
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
