//! Encoding and decoding frames: the only place either half turns frames into text or back.
//!
//! Depends only on the frame types of `protocol` and serde.

use serde::Deserialize;

use super::{ClientFrame, DecodeError, ServerFrame, decode_reply};

/// Only the tag, read on the error path to classify a frame that failed to decode.
#[derive(Deserialize)]
pub(super) struct Tag {
    #[serde(rename = "type")]
    pub(super) kind: String,
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    text: &str,
    known: &[&str],
) -> Result<T, DecodeError> {
    serde_json::from_str(text).map_err(|err| match serde_json::from_str::<Tag>(text) {
        Ok(tag) if !known.contains(&tag.kind.as_str()) => DecodeError::UnknownType(tag.kind),
        _ => DecodeError::Malformed(err.to_string()),
    })
}

/// Decodes one client frame.
pub fn decode_client(text: &str) -> Result<ClientFrame, DecodeError> {
    decode(text, ClientFrame::TYPES)
}

/// Decodes one server frame, ignoring the `req` it may echo (see [`decode_reply`]).
pub fn decode_server(text: &str) -> Result<ServerFrame, DecodeError> {
    decode_reply(text).map(|reply| reply.frame)
}

/// Encodes one client frame.
pub fn encode_client(frame: &ClientFrame) -> String {
    serde_json::to_string(frame).expect("client frames contain only strings and integers")
}

/// Encodes one server frame.
pub fn encode_server(frame: &ServerFrame) -> String {
    serde_json::to_string(frame).expect("server frames contain only strings and integers")
}
