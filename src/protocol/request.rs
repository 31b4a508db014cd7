//! Request ids: the optional `req` field a client may put on any frame it sends, echoed by the
//! server on the one frame that answers it (or on the `error` refusing it).
//!
//! `req` lives beside the frame's own fields on the wire (`{"type":"ping","nonce":1,"req":7}`),
//! but not in [`ClientFrame`] or [`ServerFrame`]: it is the same for every frame, so it wraps
//! them ([`Request`], [`Reply`]) instead of being repeated in each variant. Fan-out (events,
//! presence, typing, read states for other devices) never carries one.

use serde::{Deserialize, Serialize};

use super::{ClientFrame, DecodeError, ServerFrame};

/// A client's name for one of its requests: a string of at most [`Req::MAX_CHARS`] characters,
/// or an integer. The server only compares and echoes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Req {
    /// A JSON integer (fits in 64 bits, signed).
    Number(i64),
    /// A JSON string.
    Text(String),
}

impl Req {
    /// The longest string `req`, in Unicode code points.
    pub const MAX_CHARS: usize = 64;

    /// Whether the server accepts it: any integer, or a string of at most
    /// [`Req::MAX_CHARS`] characters.
    pub fn is_valid(&self) -> bool {
        match self {
            Self::Number(_) => true,
            Self::Text(text) => text.chars().count() <= Self::MAX_CHARS,
        }
    }
}

/// A client frame with its optional request id, as it travels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The client's id for this request, echoed on its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<Req>,
    /// The frame itself (its own `deny_unknown_fields` still refuses anything else).
    #[serde(flatten)]
    pub frame: ClientFrame,
}

/// A server frame with the request id of the request it answers, as it travels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The `req` of the request this frame answers, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<Req>,
    /// The frame itself.
    #[serde(flatten)]
    pub frame: ServerFrame,
}

/// Only the `req` of a frame that failed to decode, so its refusal can still name it.
#[derive(Deserialize)]
struct ReqOnly {
    req: Option<Req>,
}

/// The `req` of `text` when it is a JSON object carrying a valid one, whatever else is wrong
/// with it.
pub fn req_of(text: &str) -> Option<Req> {
    serde_json::from_str::<ReqOnly>(text)
        .ok()
        .and_then(|r| r.req)
        .filter(Req::is_valid)
}

/// Decodes one client frame with its request id.
pub fn decode_request(text: &str) -> Result<Request, DecodeError> {
    super::codec::decode(text, ClientFrame::TYPES)
}

/// Encodes one client frame with a request id.
pub fn encode_request(frame: &ClientFrame, req: Option<&Req>) -> String {
    let request = Request {
        req: req.cloned(),
        frame: frame.clone(),
    };
    serde_json::to_string(&request).expect("client frames contain only strings and integers")
}

/// Decodes one server frame with the request id it answers.
pub fn decode_reply(text: &str) -> Result<Reply, DecodeError> {
    super::codec::decode(text, ServerFrame::TYPES)
}

/// Encodes one server frame answering the request `req`.
pub fn encode_reply(frame: &ServerFrame, req: Option<&Req>) -> String {
    match req {
        None => super::encode_server(frame),
        Some(req) => {
            let reply = Reply {
                req: Some(req.clone()),
                frame: frame.clone(),
            };
            serde_json::to_string(&reply).expect("server frames contain only strings and integers")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ConvId, ErrorCode, Seq, decode_client};

    #[test]
    fn a_req_rides_beside_the_frames_own_fields() {
        let text = r#"{"type":"ping","nonce":7,"req":"a-1"}"#;
        let request = decode_request(text).unwrap();
        assert_eq!(request.req, Some(Req::Text("a-1".into())));
        assert_eq!(request.frame, ClientFrame::Ping { nonce: 7 });
        let numbered =
            decode_request(r#"{"req":-3,"type":"history","conv":1,"before":9,"limit":5}"#).unwrap();
        assert_eq!(numbered.req, Some(Req::Number(-3)));
        assert_eq!(
            numbered.frame,
            ClientFrame::History {
                conv: ConvId(1),
                before: Seq(9),
                limit: 5
            }
        );
        let again = encode_request(&numbered.frame, numbered.req.as_ref());
        assert_eq!(decode_request(&again).unwrap(), numbered);
    }

    #[test]
    fn unknown_fields_are_still_refused_beside_a_req() {
        let forged = r#"{"type":"ping","nonce":1,"req":1,"from":99}"#;
        assert_eq!(
            decode_request(forged).map_err(|e| e.code()),
            Err(ErrorCode::MalformedFrame)
        );
        assert_eq!(req_of(forged), Some(Req::Number(1)));
        assert_eq!(
            decode_client(r#"{"type":"ping","nonce":1,"req":1}"#).map_err(|e| e.code()),
            Err(ErrorCode::MalformedFrame),
            "the bare frame type knows no req"
        );
    }

    #[test]
    fn a_req_that_is_neither_string_nor_integer_is_malformed() {
        for text in [
            r#"{"type":"ping","nonce":1,"req":1.5}"#,
            r#"{"type":"ping","nonce":1,"req":[1]}"#,
            r#"{"type":"ping","nonce":1,"req":{"a":1}}"#,
            r#"{"type":"ping","nonce":1,"req":true}"#,
        ] {
            assert_eq!(
                decode_request(text).map_err(|e| e.code()),
                Err(ErrorCode::MalformedFrame),
                "{text}"
            );
            assert_eq!(req_of(text), None, "{text}");
        }
    }

    #[test]
    fn a_string_req_is_at_most_64_code_points() {
        assert!(Req::Text("é".repeat(64)).is_valid());
        assert!(!Req::Text("é".repeat(65)).is_valid());
        assert!(Req::Number(i64::MIN).is_valid());
    }

    #[test]
    fn replies_carry_the_req_only_when_there_is_one() {
        let pong = ServerFrame::Pong { nonce: 2 };
        assert_eq!(encode_reply(&pong, None), r#"{"type":"pong","nonce":2}"#);
        let text = encode_reply(&pong, Some(&Req::Number(9)));
        let reply = decode_reply(&text).unwrap();
        assert_eq!(reply.req, Some(Req::Number(9)));
        assert_eq!(reply.frame, pong);
        assert_eq!(crate::protocol::decode_server(&text), Ok(pong));
    }
}
