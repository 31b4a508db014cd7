//! Accounts and credentials: register, log in, sessions, access tokens, password changes.
//!
//! Secrets: a session or access token is 256 random bits, given to the client once and stored
//! only as its SHA-256 (a fast hash is right for high-entropy secrets). Passwords are hashed with
//! Argon2id at OWASP's minimum (19 MiB, t=2, p=1) on the blocking pool, at most
//! [`HASH_CONCURRENCY`] at a time so a flood of log-ins cannot exhaust memory or starve the
//! runtime's workers.
//!
//! Log-ins are throttled per (account, address), per account and per address (`throttle`);
//! unknown users are verified against a dummy hash so that timing does not reveal which usernames
//! exist.
//!
//! Credentials end what hangs on them: logging out, a password change (every other session and
//! every access token) and revoking a token close their sockets at once (close 4001), and every
//! socket carries its credential's [`expiry::Expiry`], which closes it when the session or token
//! expires or the session goes idle.

pub mod expiry;
pub mod password;
mod secret;
pub mod throttle;
mod tokens;

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::http::{HeaderMap, HeaderValue, header};
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};

use super::{
    clock::now_secs as now,
    config::Config,
    live::{Credential, Live},
    routing::Origin,
    store::{NewUser, Store, StoreError, UserRecord},
};
use crate::auth::{self, Account, ApiError, Field, PasswordChanged};
use expiry::Expiry;
use throttle::{Throttle, ThrottleSettings, Wait};

pub use secret::{SESSION_COOKIE, TOKEN_PREFIX};

/// How many password hashes may run at once (each holds 19 MiB for tens of milliseconds).
pub const HASH_CONCURRENCY: usize = 4;

/// A session is written back as "seen" at most this often, to keep reads from becoming writes.
const TOUCH_EVERY_SECS: i64 = 60;

/// Who is on the other end of a request or connection, and by which credential.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The user.
    pub user: UserRecord,
    /// The session or token that proved it; revoking it ends the connection.
    pub credential: Credential,
    /// When that credential ends by itself, so that a socket opened with it closes then.
    pub expiry: Expiry,
}

/// A user made by [`Accounts::provision`], with the access token that authenticates it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Provisioned {
    /// The user.
    pub id: crate::protocol::UserId,
    /// Its username.
    pub username: String,
    /// Its access token (shown once; only its digest is stored).
    pub token: String,
}

/// A newly created session: the cookie to set and who it belongs to.
#[derive(Debug)]
pub struct NewSession {
    /// The account now logged in.
    pub account: Account,
    /// The complete `Set-Cookie` value.
    pub cookie: HeaderValue,
}

/// Account operations, shared by every request.
pub struct Accounts {
    /// Where users, sessions and tokens live.
    store: Store,
    /// Which sockets belong to which credential, so revocation can close them.
    live: Arc<Live>,
    /// Argon2id hashing and verification.
    passwords: password::Passwords,
    /// Log-in failures per (account, address) and per account.
    throttle: Throttle,
    /// Log-in and register attempts per client address.
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Absolute session lifetime.
    session_ttl: Duration,
    /// Idle timeout.
    session_idle: Duration,
    /// Whether cookies carry `Secure`.
    secure_cookie: bool,
}

fn internal(err: StoreError) -> ApiError {
    tracing::error!(%err, "store failure");
    ApiError::Internal
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Accounts {
    /// Account operations over `store`, with limits from `config`.
    pub fn new(store: Store, live: Arc<Live>, config: &Config) -> Self {
        Self {
            store,
            live,
            passwords: password::Passwords::new(HASH_CONCURRENCY),
            throttle: Throttle::new(ThrottleSettings {
                free_per_pair: config.login_failures_per_pair,
                failures_per_account: config.login_failures_per_account,
                max_lock: config.login_backoff_max,
            }),
            per_address: governor::RateLimiter::keyed(per_minute(config.login_per_address)),
            session_ttl: config.session_ttl,
            session_idle: config.session_idle,
            secure_cookie: config.secure_cookie,
        }
    }

    fn limit<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), ApiError>
    where
        K: Clone + Eq + std::hash::Hash,
    {
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    /// Creates an account and logs it in.
    pub async fn register(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<NewSession, ApiError> {
        let key = auth::username_key(username)?;
        let display_name = auth::display_name(display_name, username)?;
        auth::check_password(password, Field::Password)?;
        Self::limit(&self.per_address, &from)?;
        let hash = self.passwords.hash(password).await?;
        let user = self
            .store
            .create_user(
                NewUser {
                    username,
                    username_key: &key,
                    display_name: &display_name,
                    password_hash: &hash,
                },
                now(),
            )
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => ApiError::UsernameTaken,
                other => internal(other),
            })?;
        tracing::info!(user = %user.id, "registered");
        self.start_session(user).await
    }

    /// Checks a username and password and starts a session. Every failure that could reveal
    /// whether the account exists is the same [`ApiError::BadCredentials`].
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<NewSession, ApiError> {
        Self::limit(&self.per_address, &from)?;
        let key = username.trim().to_ascii_lowercase();
        // Only a name of the right shape can be an account; others fail without being tracked.
        let tracked = auth::username_key(&key).is_ok();
        if tracked {
            self.throttle
                .check(&key, from, Instant::now())
                .map_err(|Wait(wait)| ApiError::RateLimited {
                    retry_after_secs: wait.as_secs().max(1),
                })?;
        }
        let found = if tracked {
            self.store
                .user_with_password(&key)
                .await
                .map_err(internal)?
        } else {
            None
        };
        let verified = match &found {
            Some((_, hash)) => self.passwords.verify(password, hash).await?,
            None => {
                self.passwords.verify_dummy(password).await?;
                false
            }
        };
        match found {
            Some((user, _)) if verified => {
                tracing::info!(user = %user.id, "logged in");
                self.throttle.succeeded(&key, from);
                self.start_session(user).await
            }
            _ => {
                if tracked {
                    self.throttle.failed(&key, from, Instant::now());
                }
                tracing::info!(%from, "failed log-in");
                Err(ApiError::BadCredentials)
            }
        }
    }

    async fn start_session(&self, user: UserRecord) -> Result<NewSession, ApiError> {
        let token = secret::session_token();
        let at = now();
        let ttl = self.session_ttl.as_secs() as i64;
        self.store
            .create_session(user.id, &secret::digest(&token), at, at + ttl)
            .await
            .map_err(internal)?;
        Ok(NewSession {
            account: account(user),
            cookie: secret::session_cookie(&token, ttl, self.secure_cookie),
        })
    }

    /// The session named by the request's cookie, if it is valid.
    pub async fn from_cookie(&self, headers: &HeaderMap) -> Result<Option<Identity>, ApiError> {
        let Some(token) = secret::session_from_cookies(headers) else {
            return Ok(None);
        };
        let Some(session) = self
            .store
            .session(&secret::digest(token))
            .await
            .map_err(internal)?
        else {
            return Ok(None);
        };
        let at = now();
        let idle = self.session_idle.as_secs() as i64;
        let deadline = expiry::session_deadline(session.last_seen_at, session.expires_at, idle);
        if session.revoked || at >= deadline {
            return Ok(None);
        }
        // Often enough that a short idle timeout cannot pass between two writes.
        let mut last_seen = session.last_seen_at;
        if at - last_seen >= TOUCH_EVERY_SECS.min(idle / 4) {
            self.store
                .touch_session(session.id, at)
                .await
                .map_err(internal)?;
            last_seen = at;
        }
        Ok(Some(Identity {
            user: session.user,
            credential: Credential::Session(session.id),
            expiry: Expiry::session(
                self.store.clone(),
                session.id,
                last_seen,
                session.expires_at,
                idle,
            ),
        }))
    }

    /// The access token in an `Authorization: Bearer` header. `Ok(None)` when there is no such
    /// header; [`ApiError::Unauthenticated`] when there is one that is malformed, unknown,
    /// revoked or expired.
    pub async fn from_bearer(&self, headers: &HeaderMap) -> Result<Option<Identity>, ApiError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let token = secret::bearer_token(value).ok_or(ApiError::Unauthenticated)?;
        let at = now();
        match self
            .store
            .use_token(&secret::digest(token), at)
            .await
            .map_err(internal)?
        {
            Some(record) if !record.revoked && record.expires_at.is_none_or(|end| at < end) => {
                Ok(Some(Identity {
                    user: record.user,
                    credential: Credential::Token(record.id),
                    expiry: Expiry::token(record.expires_at),
                }))
            }
            _ => Err(ApiError::Unauthenticated),
        }
    }

    /// Revokes the session behind `identity` and closes its sockets; returns the cookie that
    /// clears it in the browser.
    pub async fn logout(&self, identity: &Identity) -> Result<HeaderValue, ApiError> {
        if let Credential::Session(id) = identity.credential {
            self.store
                .revoke_session(id, now())
                .await
                .map_err(internal)?;
        }
        self.live.revoke(identity.credential, Origin::Local);
        tracing::info!(user = %identity.user.id, "logged out");
        Ok(secret::clear_cookie(self.secure_cookie))
    }

    /// Changes the password after checking the current one; revokes every other session and
    /// every access token of the user and closes their sockets. The session making the change
    /// stays logged in.
    pub async fn change_password(
        &self,
        identity: &Identity,
        current: &str,
        new: &str,
    ) -> Result<PasswordChanged, ApiError> {
        auth::check_password(new, Field::Password)?;
        let Credential::Session(keep) = identity.credential else {
            return Err(ApiError::Unauthenticated);
        };
        let stored = self
            .store
            .password_hash(identity.user.id)
            .await
            .map_err(internal)?
            .ok_or(ApiError::Unauthenticated)?;
        if !self.passwords.verify(current, &stored).await? {
            return Err(ApiError::Invalid {
                field: Field::CurrentPassword,
                message: "The current password is not right".into(),
            });
        }
        let hash = self.passwords.hash(new).await?;
        let revoked = self
            .store
            .set_password(identity.user.id, &hash, keep, now())
            .await
            .map_err(internal)?;
        let sessions = revoked.sessions.iter().map(|id| Credential::Session(*id));
        let tokens = revoked.tokens.iter().map(|id| Credential::Token(*id));
        for credential in sessions.chain(tokens) {
            self.live.revoke(credential, Origin::Local);
        }
        tracing::info!(
            user = %identity.user.id,
            sessions = revoked.sessions.len(),
            tokens = revoked.tokens.len(),
            "password changed"
        );
        Ok(PasswordChanged {
            sessions_ended: revoked.sessions.len(),
            tokens_revoked: revoked.tokens.len(),
        })
    }

    /// The account with this username (ignoring case), if any.
    pub async fn find(&self, username: &str) -> Result<Option<Account>, ApiError> {
        let Ok(key) = auth::username_key(username.trim()) else {
            return Ok(None);
        };
        Ok(self
            .store
            .user_with_password(&key)
            .await
            .map_err(internal)?
            .map(|(user, _)| account(user)))
    }
}

/// The account as the UI sees it.
pub fn account(user: UserRecord) -> Account {
    Account {
        id: user.id,
        username: user.username,
        display_name: user.display_name,
    }
}
