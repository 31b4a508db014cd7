//! Frames on an open socket: send one, read the next text frame or close, the hello, and an
//! event's position read straight from its text.
//!
//! Readers take any stream of WebSocket messages, so they work on a whole [`super::Socket`] and
//! on its reading half after `split`.

use std::time::Duration;

use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::ClientError;
use crate::protocol::{
    self, ClientFrame, ConvId, Epoch, ProtocolVersion, Reply, Req, Seq, ServerFrame, UserId,
};

/// A close frame as received: the code (see [`crate::protocol::close_code`]) and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    /// The close code.
    pub code: u16,
    /// The reason text (may be empty).
    pub reason: String,
}

/// The next thing that matters on a socket: a text frame, or the server's close.
#[derive(Debug)]
pub enum Raw {
    /// One text frame, undecoded.
    Text(Utf8Bytes),
    /// The server closed the connection (with a code, or without one).
    Close(Option<Close>),
}

/// What the hello told a new connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The protocol the server speaks.
    pub protocol: ProtocolVersion,
    /// The server's build.
    pub server_version: String,
    /// Who this connection belongs to.
    pub user: UserId,
    /// The heartbeat interval.
    pub heartbeat_ms: u32,
    /// The store epoch of every seq on this connection.
    pub epoch: Epoch,
}

/// Sends one frame.
pub async fn send_frame<S>(socket: &mut S, frame: &ClientFrame) -> Result<(), ClientError>
where
    S: Sink<Message, Error = tungstenite::Error> + Unpin,
{
    send_text(socket, protocol::encode_client(frame)).await
}

/// Sends one frame carrying the request id `req`.
pub async fn send_request<S>(
    socket: &mut S,
    frame: &ClientFrame,
    req: &Req,
) -> Result<(), ClientError>
where
    S: Sink<Message, Error = tungstenite::Error> + Unpin,
{
    send_text(socket, protocol::encode_request(frame, Some(req))).await
}

/// Sends raw text as one frame (whatever it holds).
pub async fn send_text<S>(socket: &mut S, text: impl Into<Utf8Bytes>) -> Result<(), ClientError>
where
    S: Sink<Message, Error = tungstenite::Error> + Unpin,
{
    socket
        .send(Message::Text(text.into()))
        .await
        .map_err(|e| ClientError::Lost(e.to_string()))
}

/// The next text frame or close within `within`, skipping WebSocket pings and pongs
/// (tungstenite answers pings by itself while the stream is read) and anything else.
pub async fn next_raw<S>(socket: &mut S, within: Duration) -> Result<Raw, ClientError>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| ClientError::Timeout(within))?;
        match message {
            Some(Ok(Message::Text(text))) => return Ok(Raw::Text(text)),
            Some(Ok(Message::Close(frame))) => {
                return Ok(Raw::Close(frame.map(|f| Close {
                    code: f.code.into(),
                    reason: f.reason.to_string(),
                })));
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(ClientError::Lost(err.to_string())),
            None => return Err(ClientError::Lost("the connection ended".into())),
        }
    }
}

/// The next server frame with the `req` it answers, within `within`; a close is
/// [`ClientError::Closed`]. A frame of a `type` this build does not know (a later server's) is
/// skipped, as docs/PROTOCOL.md asks of old clients; a malformed one is an error.
pub async fn next_reply<S>(socket: &mut S, within: Duration) -> Result<Reply, ClientError>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let text = match next_raw(socket, left).await {
            Ok(Raw::Text(text)) => text,
            Ok(Raw::Close(close)) => return Err(ClientError::Closed(close)),
            Err(ClientError::Timeout(_)) => return Err(ClientError::Timeout(within)),
            Err(err) => return Err(err),
        };
        match protocol::decode_reply(text.as_str()) {
            Err(protocol::DecodeError::UnknownType(kind)) => {
                tracing::debug!(%kind, "skipping a frame of a type this client does not know");
            }
            decoded => return Ok(decoded?),
        }
    }
}

/// Reads the hello every accepted connection starts with. A refusal instead (an `error`
/// frame, e.g. `unsupported_protocol`) is [`ClientError::Refused`].
pub async fn read_hello<S>(socket: &mut S, within: Duration) -> Result<Hello, ClientError>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    match next_reply(socket, within).await?.frame {
        ServerFrame::Hello {
            protocol,
            server_version,
            user,
            heartbeat_ms,
            epoch,
        } => Ok(Hello {
            protocol,
            server_version,
            user,
            heartbeat_ms,
            epoch,
        }),
        other => Err(refusal(other)),
    }
}

/// An `error` frame as [`ClientError::Refused`]; any other frame as
/// [`ClientError::Unexpected`].
pub fn refusal(frame: ServerFrame) -> ClientError {
    match frame {
        ServerFrame::Error {
            code,
            message,
            client_msg_id,
            refused,
            retry_after_ms,
        } => ClientError::Refused {
            code,
            message,
            client_msg_id,
            refused,
            retry_after_ms,
        },
        other => ClientError::Unexpected(format!("{other:?}")),
    }
}

/// The conversation and seq of an `event` frame, read without decoding it: the server writes
/// the type tag, `conv` and `seq` first (the order of [`crate::protocol::Event`]'s fields).
/// `None` for any other frame. For readers that must stay cheap per delivery.
pub fn event_position(text: &str) -> Option<(ConvId, Seq)> {
    let rest = text.strip_prefix("{\"type\":\"event\",\"conv\":")?;
    let end = rest.find(',')?;
    let conv = rest[..end].parse().ok()?;
    let rest = rest[end..].strip_prefix(",\"seq\":")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    Some((ConvId(conv), Seq(rest[..end].parse().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientMsgId, Event, EventBody};

    #[tokio::test]
    async fn a_frame_of_an_unknown_type_is_skipped_and_a_malformed_one_is_an_error() {
        let texts = [
            r#"{"type":"teleport","to":"mars"}"#,
            r#"{"type":"synced"}"#,
            r#"{"type":"synced","#,
        ];
        let mut socket = futures::stream::iter(
            texts.map(|t| Ok::<_, tungstenite::Error>(Message::Text(t.into()))),
        );
        let within = Duration::from_secs(5);
        let first = next_reply(&mut socket, within).await.unwrap();
        assert_eq!(first.frame, ServerFrame::Synced {});
        assert!(matches!(
            next_reply(&mut socket, within).await,
            Err(ClientError::Decode(_))
        ));
    }

    #[test]
    fn an_events_position_is_read_from_the_servers_own_encoding() {
        let event = ServerFrame::Event(Event {
            conv: ConvId(12),
            seq: Seq(345),
            from: UserId(1),
            at: 0,
            body: EventBody::Message {
                client_msg_id: ClientMsgId("m".into()),
                body: "hi".into(),
                reply_to: None,
            },
        });
        let text = protocol::encode_server(&event);
        assert_eq!(event_position(&text), Some((ConvId(12), Seq(345))));
        assert_eq!(event_position(r#"{"type":"synced"}"#), None);
        assert_eq!(event_position(r#"{"type":"event","conv":x,"seq":1}"#), None);
    }
}
