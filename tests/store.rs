//! The store's contract, written once against [`Store`] and run on both backends (SQLite in a
//! temporary file, Postgres in a throwaway server), one focused test per behaviour and backend
//! (`<check>::sqlite`, `<check>::postgres`), plus what only Postgres has to get right: several
//! nodes (separate stores, separate pools) writing the same conversations at once, outages, and
//! its logical backup.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "store/common.rs"]
mod common;
#[path = "harness/postgres.rs"]
mod pg;

#[path = "store/actions.rs"]
mod actions;
#[path = "store/backup.rs"]
mod backup;
#[path = "store/consent.rs"]
mod consent;
#[path = "store/conversations.rs"]
mod conversations;
#[path = "store/directory.rs"]
mod directory;
#[path = "store/messages.rs"]
mod messages;
#[path = "store/nodes.rs"]
mod nodes;
#[path = "store/notify.rs"]
mod notify;
#[path = "store/postgres.rs"]
mod postgres;
#[path = "store/search.rs"]
mod search;
#[path = "store/sessions.rs"]
mod sessions;
#[path = "store/tokens.rs"]
mod tokens;
#[path = "store/users.rs"]
mod users;
