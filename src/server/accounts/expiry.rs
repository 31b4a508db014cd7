//! When the credential behind a socket stops being valid, and the one timer per socket that
//! closes it then, without waiting for a frame and without polling the store.
//!
//! - An **access token** with an expiry ends at that instant; one without never does (only
//!   revocation ends it, through [`super::super::live`]).
//! - A **session** ends at the earlier of its absolute expiry (`auth.session_ttl_secs` after log-in,
//!   fixed) and its idle deadline (`auth.session_idle_secs` after its last use). The idle deadline
//!   slides: HTTP requests with the session move it (on any node), and so do this socket's own
//!   requests (every client frame but `ping`). So at the idle deadline the timer reads the session
//!   once: if it was used meanwhile (elsewhere, or here — this socket's latest use is written
//!   then, one write per idle period at most) it sleeps until the new deadline, else the socket
//!   is closed. The store is read once per idle period per socket, never polled.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::server::store::{CredentialRowId, Store};

/// How long to wait before reading the session again when the store failed.
const RETRY_AFTER_STORE_ERROR: Duration = Duration::from_secs(5);

/// The instant (Unix seconds) a session stops being valid, given its last use.
pub fn session_deadline(last_seen_at: i64, expires_at: i64, idle_secs: i64) -> i64 {
    expires_at.min(last_seen_at.saturating_add(idle_secs))
}

/// What a socket knows about when its credential ends. Clones share the record of use.
#[derive(Clone, Debug)]
pub struct Expiry(Kind);

#[derive(Clone, Debug)]
enum Kind {
    /// Ends only when revoked.
    Never,
    /// An access token that ends at this Unix second.
    Token(i64),
    /// A session, whose idle deadline may move.
    Session(Arc<SessionClock>),
}

/// A session as its socket sees it.
#[derive(Debug)]
struct SessionClock {
    /// Where to re-read it at the idle deadline.
    store: Store,
    /// Its row id.
    id: CredentialRowId,
    /// Absolute expiry, Unix seconds.
    expires_at: i64,
    /// `auth.session_idle_secs`.
    idle_secs: i64,
    /// Its last use as stored when the socket opened, Unix seconds.
    last_seen_at: i64,
    /// This socket's latest request, Unix seconds (0: none yet); written at the idle deadline.
    used_here: AtomicI64,
}

/// Sleeps until the wall clock reaches Unix second `at`.
async fn sleep_until(at: i64) {
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(at).unwrap_or(0));
    let wait = at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    tokio::time::sleep(wait).await;
}

impl Expiry {
    /// A credential that only revocation ends.
    pub fn never() -> Self {
        Self(Kind::Never)
    }

    /// An access token's: `expires_at` in Unix seconds, `None` for a token without expiry.
    pub fn token(expires_at: Option<i64>) -> Self {
        Self(expires_at.map_or(Kind::Never, Kind::Token))
    }

    /// A session's, as read when the socket opened.
    pub fn session(
        store: Store,
        id: CredentialRowId,
        last_seen_at: i64,
        expires_at: i64,
        idle_secs: i64,
    ) -> Self {
        Self(Kind::Session(Arc::new(SessionClock {
            store,
            id,
            expires_at,
            idle_secs,
            last_seen_at,
            used_here: AtomicI64::new(0),
        })))
    }

    /// Records that the client used the connection (a request), which keeps a session from
    /// going idle.
    pub fn note_use(&self) {
        if let Kind::Session(clock) = &self.0 {
            clock.used_here.fetch_max(super::now(), Ordering::Relaxed);
        }
    }

    /// Resolves when the credential has expired, with the reason for the close frame. Boxed,
    /// so that a socket task holds only a pointer to it.
    pub fn expired(&self) -> Pin<Box<dyn Future<Output = &'static str> + Send>> {
        match &self.0 {
            Kind::Never => Box::pin(std::future::pending()),
            Kind::Token(at) => {
                let at = *at;
                Box::pin(async move {
                    sleep_until(at).await;
                    "access token expired"
                })
            }
            Kind::Session(clock) => Box::pin(Arc::clone(clock).watch()),
        }
    }
}

impl SessionClock {
    async fn watch(self: Arc<Self>) -> &'static str {
        let mut last_seen = self.last_seen_at;
        loop {
            let deadline = session_deadline(last_seen, self.expires_at, self.idle_secs);
            sleep_until(deadline).await;
            if deadline >= self.expires_at {
                return "session expired; log in again";
            }
            let stored = match self.store.session_by_id(self.id).await {
                Ok(Some(stored)) => stored,
                Ok(None) => return "session ended; log in again",
                Err(err) => {
                    tracing::warn!(%err, session = self.id, "could not read the session");
                    tokio::time::sleep(RETRY_AFTER_STORE_ERROR).await;
                    continue;
                }
            };
            if stored.revoked {
                return "session ended; log in again";
            }
            let here = self.used_here.load(Ordering::Relaxed);
            if here > stored.last_seen_at
                && let Err(err) = self.store.touch_session(self.id, here).await
            {
                tracing::warn!(%err, session = self.id, "could not record the session's use");
            }
            last_seen = stored.last_seen_at.max(here);
            if super::now() >= session_deadline(last_seen, self.expires_at, self.idle_secs) {
                return "session idle too long; log in again";
            }
        }
    }
}
