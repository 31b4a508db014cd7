//! Connection caps: how many TCP connections the server holds, how many one address may hold,
//! and how many of them may be WebSockets.
//!
//! The listener asks [`Capacity::admit`] about every accepted socket before reading a byte of
//! it; a refused socket gets a canned answer and is closed, so the listen backlog keeps draining
//! and `accept` never runs out of file descriptors. The `/ws` upgrade asks
//! [`Capacity::websocket`], which keeps a reserve of connections for plain HTTP (`/healthz`,
//! log-in) however many WebSockets are open.
//!
//! Locking: one std `Mutex` around the per-address counts, held only to add or take one, never
//! across an `.await`. The totals are atomics.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

/// What a refused client is told to wait before it tries again, in seconds.
pub const RETRY_AFTER_SECS: u32 = 5;

/// Open files kept back from the automatic connection cap, for the database, logs and the
/// sockets that are being refused (a quarter of the limit when that is smaller).
const OPEN_FILE_RESERVE: u64 = 1024;

/// The caps and the counts they are checked against, shared by a listener and its handlers.
#[derive(Debug)]
pub struct Capacity {
    /// Most TCP connections held at once.
    max_connections: usize,
    /// Most WebSockets at once: `max_connections` less the reserve kept for plain HTTP.
    max_websockets: usize,
    /// Most connections one address may hold that are not authenticated WebSockets.
    per_address: usize,
    /// TCP connections held now.
    open: AtomicUsize,
    /// WebSockets open now.
    websockets: AtomicUsize,
    /// Connections per address that still count against it; an address at zero is removed, so
    /// the map is bounded by the connections held.
    addresses: Mutex<HashMap<IpAddr, usize>>,
}

/// Why a connection was refused at accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds `max_connections` already (503).
    Full,
    /// The client's address holds `connections_per_address` already (429).
    AddressFull,
}

impl Refusal {
    /// The label of this refusal in `refused_connections_total`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Full => "max_connections",
            Self::AddressFull => "connections_per_address",
        }
    }

    /// The whole HTTP answer written to the refused socket before it is closed.
    pub fn response(self) -> Vec<u8> {
        let (status, body) = match self {
            Self::Full => ("503 Service Unavailable", "server full; try again later\n"),
            Self::AddressFull => (
                "429 Too Many Requests",
                "too many connections from your address\n",
            ),
        };
        format!(
            "HTTP/1.1 {status}\r\nRetry-After: {RETRY_AFTER_SECS}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

/// An admitted TCP connection's place; dropping it (when the socket closes, whether it stayed
/// HTTP or became a WebSocket) frees it.
#[derive(Debug)]
pub struct Ticket {
    /// Its place in its address's count, shared with the requests on the connection; it also
    /// holds the caps the ticket counts against.
    address: AddressSlot,
}

/// A connection's place in its address's count. Requests carry a clone (as an extension) so
/// that the upgrade can [`release`](Self::release) it once the WebSocket is authenticated.
#[derive(Clone, Debug)]
pub struct AddressSlot(Arc<SlotState>);

/// What an [`AddressSlot`] shares between its clones.
#[derive(Debug)]
struct SlotState {
    /// The caps it counts against.
    capacity: Arc<Capacity>,
    /// The client's address.
    ip: IpAddr,
    /// Whether it still counts; cleared exactly once.
    held: AtomicBool,
}

/// A WebSocket's place under [`Capacity::websocket`]; dropped when the socket task ends.
#[derive(Debug)]
pub struct WebSocketSlot(Arc<Capacity>);

impl Capacity {
    /// Caps of `max_connections` TCP connections and `per_address` per client address.
    pub fn new(max_connections: usize, per_address: usize) -> Self {
        let max_connections = max_connections.max(1);
        Self {
            max_connections,
            max_websockets: max_connections - http_reserve(max_connections),
            per_address: per_address.max(1),
            open: AtomicUsize::new(0),
            websockets: AtomicUsize::new(0),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    /// The caps the configuration asks for, `limits.max_connections = 0` worked out from this
    /// process's open-file limit.
    pub fn from_config(config: &crate::server::config::Config) -> Self {
        let open_files = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _hard)| soft);
        Self::new(
            connection_cap(config.max_connections, open_files),
            config.connections_per_address,
        )
    }

    /// Most TCP connections held at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Most WebSockets open at once.
    pub fn max_websockets(&self) -> usize {
        self.max_websockets
    }

    /// Takes a place for a connection from `ip`, or says why there is none.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refusal> {
        if !take_one(&self.open, self.max_connections) {
            return Err(Refusal::Full);
        }
        {
            // Held only for this block: no `.await` inside.
            let mut addresses = self.lock();
            let count = addresses.entry(ip).or_insert(0);
            if *count >= self.per_address {
                drop(addresses);
                self.open.fetch_sub(1, Ordering::AcqRel);
                return Err(Refusal::AddressFull);
            }
            *count += 1;
        }
        ::metrics::gauge!(crate::server::metrics::TCP_CONNECTIONS_OPEN).increment(1.0);
        Ok(Ticket {
            address: AddressSlot(Arc::new(SlotState {
                capacity: Arc::clone(self),
                ip,
                held: AtomicBool::new(true),
            })),
        })
    }

    /// Takes a place for one more WebSocket, unless they already fill all but the HTTP reserve.
    pub fn websocket(self: &Arc<Self>) -> Option<WebSocketSlot> {
        take_one(&self.websockets, self.max_websockets).then(|| WebSocketSlot(Arc::clone(self)))
    }

    /// TCP connections held now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Gives back one of `ip`'s places.
    fn leave(&self, ip: IpAddr) {
        let mut addresses = self.lock();
        if let Some(count) = addresses.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                addresses.remove(&ip);
            }
        }
    }

    /// The per-address counts; callers hold the guard for one update and never across an
    /// `.await`.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Every update is a single add or subtract, so a panic elsewhere cannot leave the map
        // half-changed; a poisoned lock is still safe to use.
        self.addresses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Adds one to `count` unless it is at `max` already; `false` when it was.
fn take_one(count: &AtomicUsize, max: usize) -> bool {
    count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok()
}

/// Connections kept free of WebSockets for plain HTTP: 5 %, at least 64, at most half.
pub fn http_reserve(max_connections: usize) -> usize {
    (max_connections / 20).max(64).min(max_connections / 2)
}

/// The connection cap: `configured`, or for `0` the open-file soft limit less a reserve of
/// 1024 files (or of a quarter of the limit, when that is smaller). An unknown limit is taken
/// for Linux's usual 1024.
pub fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    if configured > 0 {
        return configured;
    }
    // "Unlimited" is a huge number; a million connections is beyond any one process here.
    let limit = open_files.unwrap_or(1024).min(1 << 20);
    let reserve = OPEN_FILE_RESERVE.min(limit / 4);
    usize::try_from(limit - reserve)
        .unwrap_or(usize::MAX)
        .max(1)
}

impl Ticket {
    /// The connection's place in its address's count, for the requests on it.
    pub fn address(&self) -> AddressSlot {
        self.address.clone()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.address.release();
        self.address.0.capacity.open.fetch_sub(1, Ordering::AcqRel);
        ::metrics::gauge!(crate::server::metrics::TCP_CONNECTIONS_OPEN).decrement(1.0);
    }
}

impl AddressSlot {
    /// Stops counting this connection against its address (it became an authenticated
    /// WebSocket, or it closed). Only the first call counts.
    pub fn release(&self) {
        if self.0.held.swap(false, Ordering::AcqRel) {
            self.0.capacity.leave(self.0.ip);
        }
    }
}

impl Drop for WebSocketSlot {
    fn drop(&mut self) {
        self.0.websockets.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 3));

    #[test]
    fn the_automatic_cap_keeps_open_files_in_reserve() {
        assert_eq!(connection_cap(500, Some(1024)), 500);
        assert_eq!(connection_cap(0, Some(1024)), 768);
        assert_eq!(connection_cap(0, Some(524_288)), 524_288 - 1024);
        assert_eq!(connection_cap(0, None), 768);
        assert_eq!(connection_cap(0, Some(u64::MAX)), (1 << 20) - 1024);
        assert_eq!(connection_cap(0, Some(1)), 1);
    }

    #[test]
    fn plain_http_keeps_a_reserve() {
        assert_eq!(http_reserve(20_000), 1_000);
        assert_eq!(http_reserve(1_000), 64);
        assert_eq!(http_reserve(40), 20);
        let capacity = Arc::new(Capacity::new(40, 100));
        let slots: Vec<_> = std::iter::from_fn(|| capacity.websocket())
            .take(100)
            .collect();
        assert_eq!(slots.len(), 20);
        drop(slots);
        assert!(capacity.websocket().is_some());
    }

    #[test]
    fn admission_counts_connections_and_addresses() {
        let capacity = Arc::new(Capacity::new(4, 2));
        let a1 = capacity.admit(A).unwrap();
        let a2 = capacity.admit(A).unwrap();
        assert_eq!(capacity.admit(A).unwrap_err(), Refusal::AddressFull);
        // An authenticated WebSocket no longer counts against its address.
        a1.address().release();
        a1.address().release();
        let a3 = capacity.admit(A).unwrap();
        let b1 = capacity.admit(B).unwrap();
        assert_eq!(capacity.open(), 4);
        assert_eq!(capacity.admit(B).unwrap_err(), Refusal::Full);
        drop((a1, a2, a3, b1));
        assert_eq!(capacity.open(), 0);
        assert!(capacity.lock().is_empty());
    }

    #[test]
    fn refusals_are_complete_http_answers() {
        let text = String::from_utf8(Refusal::AddressFull.response()).unwrap();
        assert!(text.starts_with("HTTP/1.1 429 "), "{text}");
        assert!(text.contains("\r\nRetry-After: 5\r\n"), "{text}");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }
}
