//! A real switchboard server in the test process, on an ephemeral loopback port with its own
//! SQLite file, plus the clients the tests speak to it with: reqwest for HTTP and
//! `switchboard::client` for WebSockets, with test conveniences on top (expect the next frame
//! within 5 s, panic on anything else).
#![allow(dead_code)]

use std::{net::SocketAddr, time::Duration};

use futures::{SinkExt, StreamExt};
use switchboard::{
    client::{self, ConnectError, Target, wire},
    protocol::{self, PROTOCOL_VERSION, ServerFrame},
    server::{self, AppState, config::Config},
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// The admin token every test server is configured with (`server.admin_token`), which opens
/// `/healthz`, `/readyz` and `/metrics` on its main listener.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A WebSocket client connection.
pub type Client = client::Socket;

/// A server running in this process.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (configuration, shutdown, accounts).
    pub state: AppState,
    /// The accept loop.
    pub task: tokio::task::JoinHandle<Result<(), server::ServerError>>,
    /// Holds the database directory for the server's lifetime.
    _dir: tempfile::TempDir,
}

/// What an `/api` call answered.
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// The session cookie (`name=value`) if one was set.
    pub cookie: Option<String>,
    /// `Set-Cookie` as sent.
    pub set_cookie: Option<String>,
    /// `Retry-After`, if present.
    pub retry_after: Option<String>,
    /// The body.
    pub body: String,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config {
            listen: addr,
            allowed_origins: vec![format!("http://{addr}")],
            database_path: dir.path().join("switchboard.db"),
            // Tests register many users from 127.0.0.1; the flood test sets its own limit.
            login_per_address: 100_000,
            admin_token: Some(ADMIN_TOKEN.into()),
            ..Config::default()
        };
        tweak(&mut config);
        let state = AppState::open(config).await.unwrap();
        let task = tokio::spawn(server::serve(listener, state.clone()));
        Self {
            addr,
            state,
            task,
            _dir: dir,
        }
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GETs an admin endpoint (`/healthz`, `/readyz`, `/metrics`) with the admin token.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// POSTs a form to `/api/<endpoint>` as a script would (JSON answer, no redirect).
    pub async fn api(
        &self,
        endpoint: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> ApiResponse {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.api_raw(endpoint, cookie, body.into_bytes()).await
    }

    /// POSTs raw bytes as a form body to `/api/<endpoint>`.
    pub async fn api_raw(
        &self,
        endpoint: &str,
        cookie: Option<&str>,
        body: Vec<u8>,
    ) -> ApiResponse {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut request = client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .header("origin", self.origin())
            .body(body);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let set_cookie = header("set-cookie");
        let retry_after = header("retry-after");
        let cookie = set_cookie
            .as_deref()
            .and_then(|c| c.split(';').next())
            .filter(|c| !c.ends_with('='))
            .map(str::to_owned);
        ApiResponse {
            status: response.status().as_u16(),
            cookie,
            set_cookie,
            retry_after,
            body: response.text().await.unwrap(),
        }
    }

    /// Registers `username` with `password`; returns the session cookie.
    pub async fn register(&self, username: &str, password: &str) -> String {
        let response = self
            .api(
                "register",
                None,
                &[("username", username), ("password", password)],
            )
            .await;
        assert_eq!(
            response.status, 200,
            "register {username}: {}",
            response.body
        );
        response.cookie.expect("register sets the session cookie")
    }

    /// Logs in; returns the response.
    pub async fn login(&self, username: &str, password: &str) -> ApiResponse {
        self.api(
            "login",
            None,
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Opens `/ws` with the given protocol version, Origin, cookie and bearer token.
    pub async fn try_ws(
        &self,
        version: &str,
        origin: Option<&str>,
        cookie: Option<&str>,
        bearer: Option<&str>,
    ) -> Result<Client, ConnectError> {
        let mut target = Target::new(self.addr.to_string()).version(version);
        if let Some(origin) = origin {
            target = target.origin(origin);
        }
        if let Some(cookie) = cookie {
            target = target.cookie(cookie);
        }
        if let Some(token) = bearer {
            target = target.bearer(token);
        }
        client::open(&target).await
    }

    /// Opens `/ws` the way the browser does (current version, its Origin, `cookie`).
    pub async fn try_browser_ws(&self, cookie: &str) -> Result<Client, ConnectError> {
        self.try_ws(
            &PROTOCOL_VERSION.to_string(),
            Some(&self.origin()),
            Some(cookie),
            None,
        )
        .await
    }

    /// Opens `/ws` the way the browser does, with `cookie`, and checks the hello.
    pub async fn ws(&self, cookie: &str) -> Client {
        let mut client = self.try_browser_ws(cookie).await.unwrap();
        match next_frame(&mut client).await {
            ServerFrame::Hello { protocol, .. } => assert_eq!(protocol, PROTOCOL_VERSION),
            other => panic!("expected hello, got {other:?}"),
        }
        client
    }

    /// A fresh user, logged in, with an open socket.
    pub async fn connect(&self) -> Client {
        let name = format!(
            "user{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let cookie = self.register(&name, "correct horse battery").await;
        self.ws(&cookie).await
    }
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// Percent-encodes a form value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The next data or close message, skipping the server's heartbeat pings (tungstenite answers
/// them by itself while the stream is read).
pub async fn next_message(client: &mut Client) -> Message {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), client.next())
            .await
            .expect("server answered within 5 s")
            .expect("socket still open")
            .expect("no transport error");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

pub async fn next_frame(client: &mut Client) -> ServerFrame {
    match next_message(client).await {
        Message::Text(text) => protocol::decode_server(text.as_str()).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Pings with `nonce` and checks that the next frame is its pong: the socket is open and served.
pub async fn assert_pongs(client: &mut Client, nonce: u64) {
    let ping = format!(r#"{{"type":"ping","nonce":{nonce}}}"#);
    client.send(Message::text(ping)).await.unwrap();
    assert_eq!(next_frame(client).await, ServerFrame::Pong { nonce });
}

pub async fn next_close_code(client: &mut Client) -> u16 {
    match next_message(client).await {
        Message::Close(Some(frame)) => frame.code.into(),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// The HTTP status of a refused upgrade.
pub fn status_of(err: ConnectError) -> u16 {
    match err {
        ConnectError::Refused { status, .. } => status,
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

/// A logged-in user's device: a WebSocket that has sent `resume`, with helpers to talk the
/// protocol.
pub struct Device {
    /// The socket.
    pub ws: Client,
    /// The user.
    pub user: protocol::UserId,
    /// The store epoch its hello announced (the seqs it sees belong to it).
    pub epoch: protocol::Epoch,
}

impl TestServer {
    /// Registers `name` and returns its session cookie and user id.
    pub async fn user(&self, name: &str) -> (String, protocol::UserId) {
        let response = self
            .api(
                "register",
                None,
                &[("username", name), ("password", "correct horse battery")],
            )
            .await;
        assert_eq!(response.status, 200, "register {name}: {}", response.body);
        let account: serde_json::Value = serde_json::from_str(&response.body).unwrap();
        (
            response.cookie.unwrap(),
            protocol::UserId(account["id"].as_i64().unwrap()),
        )
    }

    /// Opens a device for the session `cookie` and resumes with `cursors`; returns it and what
    /// the replay delivered before `synced`.
    pub async fn device(
        &self,
        cookie: &str,
        cursors: Vec<protocol::Cursor>,
    ) -> (Device, Vec<ServerFrame>) {
        let mut device = self.greeted(cookie).await;
        device
            .send(&protocol::ClientFrame::Resume { cursors })
            .await;
        let replay = device.until(|f| matches!(f, ServerFrame::Synced {})).await;
        (device, replay)
    }

    /// Opens a device for the session `cookie` and reads its hello; it has not resumed yet.
    pub async fn greeted(&self, cookie: &str) -> Device {
        let mut ws = self.try_browser_ws(cookie).await.unwrap();
        let hello = wire::read_hello(&mut ws, Duration::from_secs(5))
            .await
            .expect("a hello first");
        Device {
            ws,
            user: hello.user,
            epoch: hello.epoch,
        }
    }
}

impl Device {
    /// Sends one frame.
    pub async fn send(&mut self, frame: &protocol::ClientFrame) {
        wire::send_frame(&mut self.ws, frame).await.unwrap();
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        wire::send_text(&mut self.ws, text.to_owned())
            .await
            .unwrap();
    }

    /// The next frame, skipping presence and typing.
    pub async fn next(&mut self) -> ServerFrame {
        loop {
            match next_frame(&mut self.ws).await {
                ServerFrame::Presence { .. } | ServerFrame::Typing { .. } => {}
                frame => return frame,
            }
        }
    }

    /// Frames up to and including the first matching `done` (presence and typing skipped).
    pub async fn until(&mut self, done: impl Fn(&ServerFrame) -> bool) -> Vec<ServerFrame> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await;
            let last = done(&frame);
            frames.push(frame);
            if last {
                return frames;
            }
        }
    }

    /// Posts a message and returns its ack (frames before it are dropped).
    pub async fn post(&mut self, conv: protocol::ConvId, id: &str, body: &str) -> protocol::Seq {
        self.send(&protocol::ClientFrame::Send {
            client_msg_id: protocol::ClientMsgId(id.to_owned()),
            conv,
            body: body.to_owned(),
            reply_to: None,
        })
        .await;
        loop {
            match self.next().await {
                ServerFrame::Ack {
                    client_msg_id, seq, ..
                } if client_msg_id.0 == id => return seq,
                ServerFrame::Error { code, message, .. } => panic!("send {id}: {code:?} {message}"),
                _ => {}
            }
        }
    }

    /// Sends `frame` (one that stores an event) and returns the seq of its ack; frames before
    /// it are dropped; panics on an error.
    pub async fn acked(&mut self, frame: protocol::ClientFrame) -> protocol::Seq {
        let want = frame
            .client_msg_id()
            .cloned()
            .expect("a frame that stores an event");
        self.send(&frame).await;
        loop {
            match self.next().await {
                ServerFrame::Ack {
                    client_msg_id, seq, ..
                } if client_msg_id == want => return seq,
                ServerFrame::Error { code, message, .. } => panic!("{want}: {code:?} {message}"),
                _ => {}
            }
        }
    }

    /// The next `conversation` frame's id.
    pub async fn conversation(&mut self) -> protocol::ConvId {
        loop {
            if let ServerFrame::Conversation(summary) = self.next().await {
                return summary.id;
            }
        }
    }

    /// The next error frame.
    pub async fn error(&mut self) -> (protocol::ErrorCode, Option<protocol::ClientMsgId>) {
        loop {
            if let ServerFrame::Error {
                code,
                client_msg_id,
                ..
            } = self.next().await
            {
                return (code, client_msg_id);
            }
        }
    }
}

/// Sends `frame` from `device` with the numeric `req` and returns the frame answering it
/// (frames without that `req` are skipped).
pub async fn ask(device: &mut Device, frame: &protocol::ClientFrame, req: i64) -> ServerFrame {
    let text = protocol::encode_request(frame, Some(&protocol::Req::Number(req)));
    device.send_text(&text).await;
    loop {
        let Message::Text(text) = next_message(&mut device.ws).await else {
            continue;
        };
        let reply = protocol::decode_reply(text.as_str()).unwrap();
        if reply.req == Some(protocol::Req::Number(req)) {
            return reply.frame;
        }
    }
}

/// Creates a room from `owner` and returns its id.
pub async fn room(owner: &mut Device, name: &str, public: bool) -> protocol::ConvId {
    owner
        .send(&protocol::ClientFrame::CreateRoom {
            name: name.into(),
            public,
        })
        .await;
    owner.conversation().await
}

/// The `(seq, body)` of every message event among `frames`, for `conv`.
pub fn messages(frames: &[ServerFrame], conv: protocol::ConvId) -> Vec<(i64, String)> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Event(protocol::Event {
                conv: c,
                seq,
                body: protocol::EventBody::Message { body, .. },
                ..
            }) if *c == conv => Some((seq.0, body.clone())),
            _ => None,
        })
        .collect()
}
