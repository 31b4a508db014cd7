//! Everything for the operator, never for the public: the HTTP endpoints `/healthz`, `/readyz`
//! and `/metrics` ([`endpoints`]) and the `switchboard admin …` commands `main.rs` runs
//! ([`commands`]: provision, backup, restore, new-epoch).
//!
//! Sits on top of the composition root ([`super::state`]) and the store; nothing in the request
//! path (connection, hub, committer) depends on it.

pub mod commands;
pub mod endpoints;

pub use self::{
    commands::{backup, new_epoch, provision, restore},
    endpoints::{on_main_listener, router, routes},
};
