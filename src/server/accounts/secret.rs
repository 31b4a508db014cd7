//! Session and access-token secrets: generation, hashing, and reading them off a request.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sb_session";
/// Access tokens start with this, so a leaked one is recognisable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "sbt_";
/// 256 random bits, base64url without padding.
const SECRET_CHARS: usize = 43;

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS random number generator is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn well_formed(secret: &str) -> bool {
    secret.len() == SECRET_CHARS
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A fresh session token.
pub fn session_token() -> String {
    random_secret()
}

/// A fresh personal access token.
pub fn access_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_secret())
}

/// What the store keeps instead of the secret.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The `Set-Cookie` value that stores `token` for `max_age` seconds.
pub fn session_cookie(token: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("a base64url token and fixed attributes form a valid header")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    session_cookie("", 0, secure)
}

/// The session token from the request's cookies, if one is present and well formed. Anything
/// malformed is treated as no cookie at all.
pub fn session_from_cookies(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|value| well_formed(value))
}

/// The token from an `Authorization: Bearer sbt_…` header, if well formed.
pub fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let token = value.to_str().ok()?.strip_prefix("Bearer ")?.trim();
    token
        .strip_prefix(TOKEN_PREFIX)
        .filter(|rest| well_formed(rest))
        .map(|_| token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bit_and_distinct() {
        let (a, b) = (session_token(), session_token());
        assert!(well_formed(&a) && well_formed(&b));
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert!(access_token().starts_with(TOKEN_PREFIX));
    }

    #[test]
    fn cookie_parsing_ignores_malformed_values() {
        let token = session_token();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("theme=dark; {SESSION_COOKIE}={token}")).unwrap(),
        );
        assert_eq!(session_from_cookies(&headers), Some(token.as_str()));
        for bad in [
            "sb_session=short",
            "sb_session='; DROP TABLE users;--",
            "sb_session",
        ] {
            headers.insert(header::COOKIE, HeaderValue::from_static(bad));
            assert_eq!(session_from_cookies(&headers), None, "{bad}");
        }
    }

    #[test]
    fn bearer_tokens_need_the_prefix_and_shape() {
        let token = access_token();
        let header = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        assert_eq!(bearer_token(&header), Some(token.as_str()));
        for bad in ["Bearer abc", "Basic dXNlcjpwYXNz", "Bearer sbt_tooshort"] {
            assert_eq!(bearer_token(&HeaderValue::from_static(bad)), None, "{bad}");
        }
    }

    #[test]
    fn session_cookie_has_the_required_attributes() {
        let cookie = session_cookie("t", 60, true);
        let text = cookie.to_str().unwrap();
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=60", "Secure"] {
            assert!(text.contains(attribute), "{text}");
        }
        assert!(
            !session_cookie("t", 60, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
