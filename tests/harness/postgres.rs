//! The throwaway Postgres the tests use: `switchboard::devkit::PgServer`.
#![allow(unused_imports)]

pub use switchboard::devkit::PgServer;
