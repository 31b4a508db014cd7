//! Argon2id password hashing on the blocking pool, bounded in concurrency.

use std::sync::{Arc, OnceLock};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};
use tokio::sync::Semaphore;

use crate::auth::ApiError;

/// OWASP's minimum for Argon2id: 19 MiB of memory, two passes, one lane.
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a fresh random salt (blocking; call from the blocking pool).
pub fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC string `stored` (blocking). Parameters are read from the
/// stored string, so hashes made with older parameters still verify.
fn verify_blocking(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Hashing and verification, off the async workers and at most `n` at a time.
pub struct Passwords {
    /// Bounds concurrent hashes: each holds 19 MiB and a blocking thread.
    permits: Arc<Semaphore>,
}

impl Passwords {
    /// Allows `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal)?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|_| ApiError::Internal)
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        self.run(move || hash_blocking(&password))
            .await?
            .map_err(|err| {
                tracing::error!(%err, "password hashing failed");
                ApiError::Internal
            })
    }

    /// Checks a password against a stored hash.
    pub async fn verify(&self, password: &str, stored: &str) -> Result<bool, ApiError> {
        let (password, stored) = (password.to_owned(), stored.to_owned());
        self.run(move || verify_blocking(&password, &stored)).await
    }

    /// Spends the same time as [`Passwords::verify`] for a user that does not exist, so that
    /// response time does not reveal which usernames are registered.
    pub async fn verify_dummy(&self, password: &str) -> Result<(), ApiError> {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let password = password.to_owned();
        self.run(move || {
            let stored = DUMMY
                .get_or_init(|| hash_blocking("switchboard-dummy-password").unwrap_or_default());
            verify_blocking(&password, stored);
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_at_owasp_minimum_and_verify() {
        let hash = hash_blocking("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_blocking("correct horse battery staple", &hash));
        assert!(!verify_blocking("Correct horse battery staple", &hash));
        assert!(!verify_blocking("anything", "not a phc string"));
        assert_ne!(
            hash,
            hash_blocking("correct horse battery staple").unwrap(),
            "salted"
        );
    }
}
