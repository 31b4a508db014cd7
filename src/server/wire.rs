//! Server frames encoded once, as shared bytes.
//!
//! Fan-out puts one encoded frame into many connections' queues; [`Utf8Bytes`] is
//! reference-counted, so encoding here once and cloning the handle costs no copy per recipient.
//! This module sits below everything that sends frames (routing, the committer, requests, the
//! socket writer) and depends only on the protocol.

use axum::extract::ws::Utf8Bytes;

use crate::protocol::{self, ServerFrame};

/// Encodes a frame once, for sharing between queues.
pub fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(protocol::encode_server(frame))
}
