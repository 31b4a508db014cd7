//! What one HTTP connection is doing, so its driver can tell a slow or idle client from a
//! busy one.
//!
//! Three parties update an [`Activity`]: the socket wrapper ([`Watched`]) notes when bytes
//! arrive, the per-request service marks a request in flight from its head until its response
//! body ends ([`InFlight`], carried by [`TrackedBody`]), and the driver reads
//! [`Activity::deadline`] to know when to give up on the client.
//!
//! The clocks, as nginx keeps them: the first request's head must arrive within the header
//! timeout of the accept; after a response the connection may sit idle for the keep-alive
//! timeout, and once a byte of the next request arrives its head must complete within the
//! header timeout of that byte. Nothing is timed while a request is in flight (the body has its
//! own timeout; handlers bound their own work).

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::body::{Body, Bytes};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::Notify,
    time::Instant,
};

use super::capacity::Ticket;

/// The HTTP timeouts of a listener, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// A request head must arrive within this (`server.header_timeout_ms`).
    pub header: Duration,
    /// An idle connection is closed after this (`server.keepalive_timeout_ms`).
    pub keepalive: Duration,
}

/// Why a connection's deadline is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Waiting for a request head to complete.
    Header,
    /// Idle between requests.
    KeepAlive,
}

impl Wait {
    /// The label of this timeout in `timed_out_connections_total`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::KeepAlive => "keepalive",
        }
    }
}

/// One connection's state, shared by its socket, its requests and its driver.
#[derive(Debug)]
pub struct Activity {
    /// When the connection was accepted; the times below count milliseconds from it.
    start: Instant,
    /// Requests whose head has arrived and whose response body has not ended.
    in_flight: AtomicUsize,
    /// Responses completed so far; before the first, the header clock runs from the accept.
    served: AtomicU64,
    /// When the last response ended.
    idle_since: AtomicU64,
    /// One more than when the first byte arrived with no request in flight since the last
    /// response; 0 while none has. A byte of a pipelined request read while the previous one
    /// was in flight is not noticed, so such a request is timed by the keep-alive clock.
    first_byte: AtomicU64,
    /// Woken when a request ends, so that the driver sets its next deadline.
    changed: Notify,
}

impl Activity {
    /// A connection accepted now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            first_byte: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    /// When the client has run out of time, and which clock it was; `None` while a request is
    /// in flight.
    pub fn deadline(&self, timeouts: &Timeouts) -> Option<(Instant, Wait)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let at = |ms: u64| self.start + Duration::from_millis(ms);
        if self.served.load(Ordering::Acquire) == 0 {
            return Some((self.start + timeouts.header, Wait::Header));
        }
        match self.first_byte.load(Ordering::Acquire) {
            0 => Some((
                at(self.idle_since.load(Ordering::Acquire)) + timeouts.keepalive,
                Wait::KeepAlive,
            )),
            first => Some((at(first - 1) + timeouts.header, Wait::Header)),
        }
    }

    /// Whether no request is in flight (a shutdown may close the connection outright).
    pub fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// Completes when a request has ended since the last call (or before the first).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Marks a request in flight until the returned guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// Milliseconds since the accept.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// Notes that bytes arrived from the client.
    fn bytes_arrived(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let now = self.now_ms() + 1;
            // Only the first byte after a response starts the header clock.
            let _ = self
                .first_byte
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire);
        }
    }
}

impl Default for Activity {
    fn default() -> Self {
        Self::new()
    }
}

/// A request in flight; dropping it (when the response body ends or is dropped) makes the
/// connection idle again if it was the last.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity
                .idle_since
                .store(activity.now_ms(), Ordering::Release);
            activity.first_byte.store(0, Ordering::Release);
            activity.served.fetch_add(1, Ordering::AcqRel);
            activity.changed.notify_one();
        }
    }
}

/// A response body that keeps its request in flight until it has been sent (or dropped).
pub struct TrackedBody {
    /// The router's body.
    inner: Body,
    /// Released at the end of the body.
    in_flight: Option<InFlight>,
}

impl TrackedBody {
    /// `inner`, keeping `in_flight` until it ends.
    pub fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            in_flight: Some(in_flight),
        }
    }
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            this.in_flight = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The client's socket, noting arrivals in the connection's [`Activity`] and holding its
/// [`Ticket`], so the connection counts against the caps until the socket closes — also after
/// it became a WebSocket, which keeps this wrapper.
pub struct Watched {
    /// The socket.
    tcp: TcpStream,
    /// Where arrivals are noted.
    activity: Arc<Activity>,
    /// The connection's place under the caps.
    _ticket: Ticket,
}

impl Watched {
    /// Wraps `tcp`.
    pub fn new(tcp: TcpStream, activity: Arc<Activity>, ticket: Ticket) -> Self {
        Self {
            tcp,
            activity,
            _ticket: ticket,
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.bytes_arrived();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        keepalive: Duration::from_secs(75),
    };

    #[tokio::test(start_paused = true)]
    async fn the_clocks_follow_the_connection() {
        let activity = Arc::new(Activity::new());
        let start = Instant::now();
        // A fresh connection must send its first head within the header timeout of the accept,
        // whether or not bytes have arrived.
        assert_eq!(
            activity.deadline(&TIMEOUTS),
            Some((start + TIMEOUTS.header, Wait::Header))
        );
        tokio::time::advance(Duration::from_secs(3)).await;
        activity.bytes_arrived();
        assert_eq!(
            activity.deadline(&TIMEOUTS),
            Some((start + TIMEOUTS.header, Wait::Header))
        );
        // In flight: no clock.
        let request = activity.begin();
        assert_eq!(activity.deadline(&TIMEOUTS), None);
        tokio::time::advance(Duration::from_secs(30)).await;
        drop(request);
        let idle = Instant::now();
        assert_eq!(
            activity.deadline(&TIMEOUTS),
            Some((idle + TIMEOUTS.keepalive, Wait::KeepAlive))
        );
        // The next request's first byte starts its header clock.
        tokio::time::advance(Duration::from_secs(5)).await;
        activity.bytes_arrived();
        let first = Instant::now();
        tokio::time::advance(Duration::from_secs(1)).await;
        activity.bytes_arrived();
        assert_eq!(
            activity.deadline(&TIMEOUTS),
            Some((first + TIMEOUTS.header, Wait::Header))
        );
    }
}
