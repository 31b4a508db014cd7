//! The server half (feature `ssr`): axum routes, the `/ws` upgrade, one task per connection,
//! routing, storage and the run loop with graceful shutdown.
//!
//! Layers, from the top down; each module uses only modules below it (`tests/layers.rs`
//! checks that there is no import cycle between the modules here):
//!
//! * [`run`] — bind, serve, drain: what the binary calls ([`run()`]; tests call [`serve`]);
//! * [`admin`] — `/healthz`, `/readyz`, `/metrics` and the `switchboard admin …` commands;
//! * [`http`] — the main router: pages, `/api`, static files, body limits, all behind [`web`];
//! * [`upgrade`] — the `/ws` upgrade policy: origin, authentication, caps;
//! * [`state`] — the composition root: builds every part below from the configuration;
//! * [`connection`] — one WebSocket: reader, writer, what each client frame does;
//! * everything else (routing, cluster, committer, store, accounts, live, listener, config, …) — the
//!   layers the connection and the routes are built on.
//!
//! This file only declares the modules and re-exports what the binary and the tests name;
//! nothing under `server/` uses anything from it directly.

pub mod accounts;
pub mod admin;
pub mod clock;
pub mod cluster;
pub mod committer;
pub mod config;
pub mod connection;
pub mod error;
pub mod http;
pub mod listener;
pub mod live;
pub mod metrics;
mod page;
pub mod routing;
pub mod run;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod upgrade;
pub mod web;
pub mod wire;

pub use self::{
    admin::{backup, new_epoch, provision, restore},
    error::ServerError,
    http::{MAX_BODY_BYTES, router},
    run::{run, serve},
    state::AppState,
};
