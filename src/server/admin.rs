//! Everything for the operator, never for the public: the HTTP endpoints `/healthz`, `/readyz`
//! and `/metrics` ([`endpoints`]).

pub mod endpoints;

pub use self::endpoints::{Readiness, SQLITE_PROBE_INTERVAL, on_main_listener, routes};
