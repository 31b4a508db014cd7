//! The browser's WebSocket client (gloo-net): connect, handshake, heartbeat, reconnect.
//!
//! The transport only: it takes the frames to send from a channel, asks a callback for what a
//! new session opens with, and hands what it receives and how the link stands to another
//! callback ([`Report`]). It must not depend on the app (`crate::app`): only on `protocol`,
//! gloo's socket and timers, and Leptos' task spawner and console. `app::chat::socket` is the
//! glue that feeds the chat model from it.
//!
//! One socket per tab. A session is one WebSocket from open to close; between sessions the
//! client waits with exponential backoff and full jitter, so a restarted server is not hit by
//! every tab at the same instant. A session that got as far as the server's hello resets the
//! backoff. A protocol mismatch stops the loop: only a reload can fix it.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt, future::Either};
use gloo_net::websocket::{Message, WebSocketError, futures::WebSocket};
use gloo_timers::future::TimeoutFuture;

use crate::protocol::{
    self, ClientFrame, ErrorCode, FrameType, PROTOCOL_VERSION, ServerFrame, VERSION_PARAM, WS_PATH,
    close_code,
};

/// How long to wait for the server's hello before giving up on a connection attempt.
const HELLO_TIMEOUT_MS: u32 = 10_000;
/// The first reconnect delay; doubled after each failed attempt.
const BACKOFF_BASE_MS: u32 = 250;
/// The longest reconnect delay.
const BACKOFF_CAP_MS: u32 = 10_000;
/// How long after sending the tab waits to hear anything back before it pings, and then for
/// the answer to that ping, before it calls the link lost: a tab that just sent a message
/// learns of a dead path within twice this, not two heartbeat intervals.
const ANSWER_MS: f64 = 4_000.0;

/// A running connection loop; [`Client::stop`] ends it.
pub struct Client {
    /// Set to stop: the loop checks it whenever it wakes and before reconnecting.
    stopped: Arc<AtomicBool>,
}

impl Client {
    /// Stops reconnecting and drops the socket at the loop's next wake-up.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

/// How the link stands, as the page should show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// First attempt; the server has not greeted us yet.
    Connecting,
    /// The server's hello arrived; the socket is live.
    Connected,
    /// The socket dropped; retrying with backoff.
    Reconnecting,
    /// The server speaks another protocol version: stopped, only a reload helps.
    Outdated,
    /// The session behind the socket ended: stopped until logged in again.
    SignedOut,
}

/// What the connection loop tells the page.
#[derive(Debug)]
pub enum Report {
    /// The link changed state.
    State(LinkState),
    /// A frame from the server (the hello included, before the session's opening frames go
    /// out).
    Frame(ServerFrame),
    /// A frame this client took and never sent: the loop has ended, so it goes back to the
    /// page for whichever client runs next.
    Unsent(ClientFrame),
}

/// The page's side of a running loop.
struct Link {
    /// What each session sends first, asked for after its hello is reported.
    opening: Box<dyn Fn() -> Vec<ClientFrame>>,
    /// Where reports go.
    report: Box<dyn Fn(Report)>,
}

impl Link {
    fn state(&self, state: LinkState) {
        (self.report)(Report::State(state));
    }
}

/// Starts the connection loop for this tab: it sends what arrives on `queued`, opens each
/// session with `opening()`, and tells `report` what it receives and how the link stands.
pub fn start(
    queued: mpsc::UnboundedReceiver<ClientFrame>,
    opening: impl Fn() -> Vec<ClientFrame> + 'static,
    report: impl Fn(Report) + 'static,
) -> Client {
    let stopped = Arc::new(AtomicBool::new(false));
    let link = Link {
        opening: Box::new(opening),
        report: Box::new(report),
    };
    link.state(LinkState::Connecting);
    leptos::task::spawn_local(run(link, queued, Arc::clone(&stopped)));
    Client { stopped }
}

/// How one session ended, which decides how long to wait before the next.
enum Ended {
    /// Never got a hello: count it as a failure.
    Failed,
    /// Was connected, then lost the socket: retry soon.
    Lost,
    /// The server said it is going away and when to come back.
    ServerAsked(u32),
    /// The server does not speak our protocol: stop.
    Outdated,
    /// The session was revoked (log out elsewhere, password change): stop.
    SignedOut,
    /// [`Client::stop`] was called.
    Stopped,
}

async fn run(
    link: Link,
    mut queued: mpsc::UnboundedReceiver<ClientFrame>,
    stopped: Arc<AtomicBool>,
) {
    connect_loop(&link, &mut queued, &stopped).await;
    // Frames this client never sent go back to the page, for whichever client runs next.
    queued.close();
    while let Ok(frame) = queued.try_recv() {
        (link.report)(Report::Unsent(frame));
    }
}

async fn connect_loop(
    link: &Link,
    queued: &mut mpsc::UnboundedReceiver<ClientFrame>,
    stopped: &AtomicBool,
) {
    let mut failures: u32 = 0;
    loop {
        let wait = match session(link, queued, stopped).await {
            Ended::Outdated => {
                link.state(LinkState::Outdated);
                return;
            }
            Ended::SignedOut => {
                link.state(LinkState::SignedOut);
                return;
            }
            Ended::Stopped => return,
            Ended::ServerAsked(ms) => {
                failures = 0;
                ms + jitter(ms.max(BACKOFF_BASE_MS))
            }
            Ended::Lost => {
                failures = 0;
                backoff_ms(0)
            }
            Ended::Failed => {
                failures = failures.saturating_add(1);
                backoff_ms(failures)
            }
        };
        if stopped.load(Ordering::Relaxed) {
            return;
        }
        link.state(LinkState::Reconnecting);
        TimeoutFuture::new(wait).await;
        if stopped.load(Ordering::Relaxed) {
            return;
        }
    }
}

/// Exponential backoff with jitter: a delay in `[d/2, d]` where `d = base · 2^attempt`, capped.
fn backoff_ms(attempt: u32) -> u32 {
    let ceiling = BACKOFF_BASE_MS
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_CAP_MS);
    ceiling / 2 + jitter(ceiling / 2)
}

/// A uniformly random delay in `[0, max]` milliseconds.
fn jitter(max: u32) -> u32 {
    (js_sys::Math::random() * f64::from(max)) as u32
}

/// `ws://host/ws?v=N`, or `wss://` when the page came over HTTPS.
fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().ok()?;
    Some(format!(
        "{scheme}://{host}{WS_PATH}?{VERSION_PARAM}={PROTOCOL_VERSION}"
    ))
}

/// Waits for the next message, or `None` after `ms` milliseconds.
async fn next_within(
    stream: &mut futures::stream::SplitStream<WebSocket>,
    ms: u32,
) -> Option<Option<Result<Message, WebSocketError>>> {
    match futures::future::select(stream.next(), TimeoutFuture::new(ms)).await {
        Either::Left((item, _)) => Some(item),
        Either::Right(((), _)) => None,
    }
}

/// Classifies the end of a socket that was closed by the server.
fn ended_by(error: &WebSocketError, connected: bool) -> Ended {
    match error {
        WebSocketError::ConnectionClose(event) if event.code == close_code::PROTOCOL_MISMATCH => {
            Ended::Outdated
        }
        WebSocketError::ConnectionClose(event) if event.code == close_code::SESSION_ENDED => {
            Ended::SignedOut
        }
        _ if connected => Ended::Lost,
        _ => Ended::Failed,
    }
}

/// What woke the session loop.
enum Wake {
    /// The socket yielded something (or ended).
    Socket(Option<Result<Message, WebSocketError>>),
    /// The UI queued a frame.
    Command(ClientFrame),
    /// The wait ran out: nothing was received for one heartbeat interval.
    Quiet,
    /// The browser says the network is gone (its `offline` event).
    Offline,
}

/// The browser's `offline` events while a session runs, as a stream (the listener goes with
/// it). An open WebSocket can outlive the network by a long time before an error shows; the
/// event tells at once.
struct OfflineWatch {
    events: mpsc::UnboundedReceiver<()>,
    listener: Option<leptos::prelude::WindowListenerHandle>,
}

impl OfflineWatch {
    fn new() -> Self {
        let (tx, events) = mpsc::unbounded();
        let listener = leptos::prelude::window_event_listener_untyped("offline", move |_| {
            let _ = tx.unbounded_send(());
        });
        Self {
            events,
            listener: Some(listener),
        }
    }
}

impl Drop for OfflineWatch {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.take() {
            listener.remove();
        }
    }
}

async fn wake(
    stream: &mut futures::stream::SplitStream<WebSocket>,
    queued: &mut mpsc::UnboundedReceiver<ClientFrame>,
    offline: &mut OfflineWatch,
    ms: u32,
) -> Wake {
    let socket = stream.next();
    let command = queued.next();
    let timer = TimeoutFuture::new(ms);
    let gone = offline.events.next();
    futures::pin_mut!(socket, command, gone);
    let quiet = futures::future::select(timer, gone);
    match futures::future::select(socket, futures::future::select(command, quiet)).await {
        Either::Left((item, _)) => Wake::Socket(item),
        Either::Right((Either::Left((Some(frame), _)), _)) => Wake::Command(frame),
        // The UI side of the channel is gone: nothing more will be queued.
        Either::Right((Either::Left((None, _)), _)) => Wake::Quiet,
        Either::Right((Either::Right((Either::Left(((), _)), _)), _)) => Wake::Quiet,
        Either::Right((Either::Right((Either::Right(_), _)), _)) => Wake::Offline,
    }
}

async fn session(
    link: &Link,
    queued: &mut mpsc::UnboundedReceiver<ClientFrame>,
    stopped: &AtomicBool,
) -> Ended {
    let Some(url) = socket_url() else {
        return Ended::Failed;
    };
    let Ok(socket) = WebSocket::open(&url) else {
        return Ended::Failed;
    };
    let (mut sink, mut stream) = socket.split();

    let heartbeat_ms = match next_within(&mut stream, HELLO_TIMEOUT_MS).await {
        Some(Some(Ok(Message::Text(text)))) => match protocol::decode_server(&text) {
            Ok(hello @ ServerFrame::Hello { protocol, .. }) if protocol == PROTOCOL_VERSION => {
                let ServerFrame::Hello { heartbeat_ms, .. } = hello else {
                    return Ended::Failed;
                };
                (link.report)(Report::Frame(hello));
                heartbeat_ms
            }
            Ok(ServerFrame::Error {
                code: ErrorCode::UnsupportedProtocol,
                ..
            }) => return Ended::Outdated,
            _ => return Ended::Failed,
        },
        Some(Some(Err(error))) => return ended_by(&error, false),
        _ => return Ended::Failed,
    };
    link.state(LinkState::Connected);

    // Resume from what the page holds, then whatever it asks to resend (asked for after the
    // hello is reported: a new store epoch changes the cursors).
    for frame in (link.opening)() {
        if sink
            .send(Message::Text(protocol::encode_client(&frame)))
            .await
            .is_err()
        {
            return Ended::Lost;
        }
    }

    // The server keeps the connection alive with WebSocket pings, which the browser answers
    // by itself, so this tab never has to send to stay connected. To notice a dead server it
    // counts silence from the last frame *received* (what the UI sends does not reset it):
    // one interval of it sends an app-level ping (the server answers with a pong), a second
    // one means the path is dead. A tab that is receiving is never silent, so never misfires.
    // After the tab sends, it owes itself an answer: with nothing received for `ANSWER_MS`
    // it pings at once, and with nothing for `ANSWER_MS` more the link is lost.
    let mut pinged = false;
    let mut nonce: u64 = 0;
    let mut heard = js_sys::Date::now();
    let mut owed: Option<f64> = None;
    let mut offline = OfflineWatch::new();
    loop {
        let now = js_sys::Date::now();
        let silent = (now - heard).max(0.0);
        let mut left = f64::from(heartbeat_ms) - silent;
        if let Some(since) = owed {
            left = left.min(ANSWER_MS - (now - since));
        }
        let left = left.max(0.0) as u32;
        let next = match wake(&mut stream, queued, &mut offline, left).await {
            Wake::Command(frame) => {
                let text = protocol::encode_client(&frame);
                if sink.send(Message::Text(text)).await.is_err() {
                    return Ended::Lost;
                }
                owed.get_or_insert_with(js_sys::Date::now);
                continue;
            }
            Wake::Socket(item) => Some(item),
            Wake::Quiet => None,
            Wake::Offline => return Ended::Lost,
        };
        if stopped.load(Ordering::Relaxed) {
            return Ended::Stopped;
        }
        match next {
            None if pinged => return Ended::Lost,
            None => {
                nonce += 1;
                let ping = protocol::encode_client(&ClientFrame::Ping { nonce });
                if sink.send(Message::Text(ping)).await.is_err() {
                    return Ended::Lost;
                }
                pinged = true;
                // The second interval of silence is counted from the ping (and an answer
                // still owed, from it too).
                heard = js_sys::Date::now();
                if owed.is_some() {
                    owed = Some(heard);
                }
            }
            Some(None) => return Ended::Lost,
            Some(Some(Err(error))) => return ended_by(&error, true),
            Some(Some(Ok(Message::Text(text)))) => {
                pinged = false;
                owed = None;
                heard = js_sys::Date::now();
                match protocol::decode_server(&text) {
                    Ok(ServerFrame::Reconnect { retry_after_ms }) => {
                        return Ended::ServerAsked(retry_after_ms);
                    }
                    Ok(frame @ ServerFrame::Error { .. }) => {
                        if let ServerFrame::Error {
                            code,
                            message,
                            refused,
                            ..
                        } = &frame
                        {
                            leptos::logging::warn!(
                                "server refused a frame: {}: {message}",
                                code.as_str()
                            );
                            // Without resume the connection is no use: start over, backing off
                            // like any failed attempt (the user's tabs share one read budget).
                            if *refused == Some(FrameType::Resume) {
                                return Ended::Failed;
                            }
                        }
                        (link.report)(Report::Frame(frame));
                    }
                    Ok(frame) => (link.report)(Report::Frame(frame)),
                    Err(err) => leptos::logging::warn!("undecodable server frame: {err}"),
                }
            }
            Some(Some(Ok(Message::Bytes(_)))) => {
                pinged = false;
                owed = None;
                heard = js_sys::Date::now();
            }
        }
    }
}
