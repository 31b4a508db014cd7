//! Opening `/ws`: where, with which protocol version, Origin and credential.

use tokio::net::TcpStream;
use tokio_tungstenite::{
    WebSocketStream, client_async_with_config,
    tungstenite::{self, client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig},
};

use crate::protocol::{PROTOCOL_VERSION, VERSION_PARAM, WS_PATH};

/// An open WebSocket to a switchboard server (plain TCP: `ws://` only).
pub type Socket = WebSocketStream<TcpStream>;

/// How the connection authenticates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// No credential (the server answers 401; useful to test exactly that).
    #[default]
    None,
    /// A browser session: the `Cookie` header value (`name=value`).
    Cookie(String),
    /// An access token, sent as `Authorization: Bearer <token>`.
    Bearer(String),
}

/// Where and how to connect: the server's `host:port`, the protocol version offered, the
/// `Origin` header (browsers send one; token clients need not) and the credential.
#[derive(Clone, Debug)]
pub struct Target {
    /// `host:port` of the server.
    pub addr: String,
    /// The `v=` offered in the upgrade URL (normally [`PROTOCOL_VERSION`]).
    pub version: String,
    /// The `Origin` header, if any.
    pub origin: Option<String>,
    /// The credential.
    pub auth: Auth,
}

impl Target {
    /// The server at `addr` (`host:port`), this build's protocol version, no Origin, no
    /// credential.
    pub fn new(addr: impl Into<String>) -> Self {
        Self {
            addr: addr.into(),
            version: PROTOCOL_VERSION.to_string(),
            origin: None,
            auth: Auth::None,
        }
    }

    /// The same, offering protocol version `version` (any text, to test refusals).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The same, with an `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// The same, with a session cookie (`name=value`).
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.auth = Auth::Cookie(cookie.into());
        self
    }

    /// The same, with a bearer token.
    pub fn bearer(mut self, token: impl Into<String>) -> Self {
        self.auth = Auth::Bearer(token.into());
        self
    }

    /// The upgrade URL: `ws://<addr>/ws?v=<version>`.
    pub fn url(&self) -> String {
        format!(
            "ws://{}{WS_PATH}?{VERSION_PARAM}={}",
            self.addr, self.version
        )
    }
}

/// Why an upgrade did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server answered the upgrade with an HTTP status instead of switching protocols.
    #[error("upgrade refused with HTTP {status}")]
    Refused {
        /// The HTTP status (401 unauthenticated, 403 bad Origin, 429 over a cap, …).
        status: u16,
        /// Its `Retry-After` header, if any.
        retry_after: Option<String>,
    },
    /// A header value (Origin, cookie, token) is not valid in HTTP.
    #[error("{0} is not a valid header value")]
    BadHeader(&'static str),
    /// TCP or the WebSocket handshake failed.
    #[error("cannot connect: {0}")]
    Transport(String),
}

/// Connects to `target.addr` over TCP (Nagle off: frames are small and latency matters) and
/// upgrades with tungstenite's default buffers.
pub async fn open(target: &Target) -> Result<Socket, ConnectError> {
    let stream = TcpStream::connect(&target.addr)
        .await
        .map_err(|e| ConnectError::Transport(format!("{}: {e}", target.addr)))?;
    stream
        .set_nodelay(true)
        .map_err(|e| ConnectError::Transport(e.to_string()))?;
    open_on(stream, target, None).await
}

/// Upgrades an already connected `stream` (bound to a chosen source address, with a chosen
/// receive buffer, …) with optional WebSocket buffer settings.
pub async fn open_on(
    stream: TcpStream,
    target: &Target,
    config: Option<WebSocketConfig>,
) -> Result<Socket, ConnectError> {
    let mut request = target
        .url()
        .into_client_request()
        .map_err(|e| ConnectError::Transport(e.to_string()))?;
    let headers = request.headers_mut();
    let value =
        |text: &str, what| HeaderValue::from_str(text).map_err(|_| ConnectError::BadHeader(what));
    if let Some(origin) = &target.origin {
        headers.insert("origin", value(origin, "the Origin")?);
    }
    match &target.auth {
        Auth::None => {}
        Auth::Cookie(cookie) => {
            headers.insert("cookie", value(cookie, "the cookie")?);
        }
        Auth::Bearer(token) => {
            headers.insert(
                "authorization",
                value(&format!("Bearer {token}"), "the token")?,
            );
        }
    }
    match client_async_with_config(request, stream, config).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => Err(ConnectError::Refused {
            status: response.status().as_u16(),
            retry_after: response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }),
        Err(err) => Err(ConnectError::Transport(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_path_and_the_version() {
        let target = Target::new("127.0.0.1:9").version("7");
        assert_eq!(target.url(), "ws://127.0.0.1:9/ws?v=7");
        assert_eq!(
            Target::new("h:1").url(),
            format!("ws://h:1/ws?v={PROTOCOL_VERSION}")
        );
    }

    #[test]
    fn the_last_credential_named_wins() {
        let target = Target::new("h:1").cookie("a=b").bearer("sbt_x");
        assert_eq!(target.auth, Auth::Bearer("sbt_x".into()));
    }
}
