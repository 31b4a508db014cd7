//! The throwaway Redis the tests use: `switchboard::devkit::RedisServer`.
#![allow(unused_imports)]

pub use switchboard::devkit::RedisServer;
