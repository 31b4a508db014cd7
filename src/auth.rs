//! Accounts, sessions and access tokens: the types and rules both halves share, and the server
//! functions the UI (and any HTTP client) calls.
//!
//! Each server function lives in its own file below and is mounted under `/api/<name>`. They take
//! form-encoded arguments, so the log-in and register pages work as plain HTML forms before (or
//! without) the WASM, and answer JSON. Every failure is an [`ApiError`]: one typed enum, mapped
//! to an HTTP status in one place ([`ApiError::status`]).

// `#[server]` generates a public argument struct per function whose fields are the function's
// parameters; they are documented on the function, so the fields are exempt.
#[allow(missing_docs)]
pub mod change_password;
pub mod current_user;
#[allow(missing_docs)]
pub mod find_user;
pub mod form_error;
#[allow(missing_docs)]
pub mod login;
pub mod logout;
#[allow(missing_docs)]
pub mod register;
#[cfg(feature = "ssr")]
pub mod ssr;
#[allow(missing_docs)]
pub mod tokens;

use serde::{Deserialize, Serialize};

use crate::protocol::UserId;

/// Usernames are 3 to 32 characters.
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=32;
/// Display names are 1 to 64 characters (an empty one falls back to the username).
pub const DISPLAY_NAME_MAX: usize = 64;
/// Passwords are 8 to 128 characters (NIST SP 800-63B: at least 8, accept long passphrases).
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 8..=128;
/// Access-token names are 1 to 64 characters.
pub const TOKEN_NAME_MAX: usize = 64;

/// The longest lifetime an access token may be given, in seconds (one year).
pub const TOKEN_LIFETIME_MAX_SECS: u64 = 365 * 24 * 60 * 60;

/// Who is logged in, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Stable id.
    pub id: UserId,
    /// The name as registered (case preserved; unique ignoring case).
    pub username: String,
    /// The name shown to others.
    pub display_name: String,
}

/// A personal access token as listed to its owner (the secret itself is shown only once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Id used to revoke it.
    pub id: i64,
    /// The owner's label for it.
    pub name: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last time it opened a connection, Unix seconds.
    pub last_used_at: Option<i64>,
    /// When it stops working, Unix seconds; `None`: until revoked.
    pub expires_at: Option<i64>,
}

/// What a password change ended, so the page can say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChanged {
    /// The user's other sessions that were logged out.
    pub sessions_ended: usize,
    /// The access tokens that were revoked (all of the user's).
    pub tokens_revoked: usize,
}

/// A form field an error can be shown next to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The username.
    Username,
    /// The display name.
    DisplayName,
    /// The password (register, log in) or the new password (change password).
    Password,
    /// The current password (change password).
    CurrentPassword,
    /// An access token's name.
    TokenName,
    /// An access token's lifetime.
    TokenExpiry,
}

/// Every way an `/api` call can fail. Serialised as JSON `{"error": "<kind>", ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ApiError {
    /// A field's value breaks a rule; `message` says which.
    #[error("{message}")]
    Invalid {
        /// The field at fault.
        field: Field,
        /// What is wrong, in words for the user.
        message: String,
    },
    /// Registration with a username someone already has (ignoring case).
    #[error("That username is taken")]
    UsernameTaken,
    /// Log-in with an unknown user or a wrong password: deliberately the same message.
    #[error("Wrong username or password")]
    BadCredentials,
    /// Too many attempts from this address or for this account.
    #[error("Too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited {
        /// When the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// The call needs a logged-in session.
    #[error("You are not logged in")]
    Unauthenticated,
    /// The thing named does not exist (or is not yours).
    #[error("Not found")]
    NotFound,
    /// The request itself was malformed (missing or undecodable arguments).
    #[error("Bad request: {reason}")]
    BadRequest {
        /// What was wrong with it.
        reason: String,
    },
    /// The browser could not reach the server.
    #[error("Cannot reach the server: {reason}")]
    Unreachable {
        /// The transport's explanation.
        reason: String,
    },
    /// Something failed on the server; details are in its log, not here.
    #[error("Something went wrong on our side; please try again")]
    Internal,
}

impl ApiError {
    /// The HTTP status for this error — the one place errors become statuses.
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid { .. } | Self::BadRequest { .. } => 400,
            Self::BadCredentials | Self::Unauthenticated => 401,
            Self::NotFound => 404,
            Self::UsernameTaken => 409,
            Self::RateLimited { .. } => 429,
            Self::Unreachable { .. } => 503,
            Self::Internal => 500,
        }
    }

    /// The form field this error belongs next to, if any.
    pub fn field(&self) -> Option<Field> {
        match self {
            Self::Invalid { field, .. } => Some(*field),
            Self::UsernameTaken => Some(Field::Username),
            _ => None,
        }
    }

    fn invalid(field: Field, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for ApiError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Request(reason) => Self::Unreachable { reason },
            other => Self::BadRequest {
                reason: other.to_string(),
            },
        }
    }
}

/// Checks a username and returns its case-folded form, the key uniqueness is decided on.
///
/// Rules: 3–32 characters; ASCII letters, digits, `_`, `.` and `-`; starting with a letter or
/// digit. Unique ignoring case: `Alice` and `alice` are the same account.
pub fn username_key(username: &str) -> Result<String, ApiError> {
    let len = username.chars().count();
    if !USERNAME_LEN.contains(&len) {
        return Err(ApiError::invalid(
            Field::Username,
            format!(
                "Usernames are {} to {} characters",
                USERNAME_LEN.start(),
                USERNAME_LEN.end()
            ),
        ));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(ApiError::invalid(
            Field::Username,
            "Usernames use only letters a–z, digits, '_', '.' and '-'",
        ));
    }
    if !username.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(ApiError::invalid(
            Field::Username,
            "Usernames start with a letter or digit",
        ));
    }
    Ok(username.to_ascii_lowercase())
}

/// Checks a display name; an empty one becomes the username.
pub fn display_name(raw: &str, username: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(username.to_owned());
    }
    if name.chars().count() > DISPLAY_NAME_MAX {
        return Err(ApiError::invalid(
            Field::DisplayName,
            format!("Display names are at most {DISPLAY_NAME_MAX} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            Field::DisplayName,
            "Display names cannot contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Checks a new password's length (the only rule: long passphrases beat composition rules).
pub fn check_password(password: &str, field: Field) -> Result<(), ApiError> {
    if PASSWORD_LEN.contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!(
                "Passwords are {} to {} characters",
                PASSWORD_LEN.start(),
                PASSWORD_LEN.end()
            ),
        ))
    }
}

/// Checks an access token's name.
pub fn token_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > TOKEN_NAME_MAX
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            Field::TokenName,
            format!("Token names are 1 to {TOKEN_NAME_MAX} printable characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Checks an access token's lifetime as typed: empty means no expiry, else whole seconds from 1
/// to [`TOKEN_LIFETIME_MAX_SECS`].
pub fn token_lifetime(raw: &str) -> Result<Option<u64>, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<u64>() {
        Ok(secs) if (1..=TOKEN_LIFETIME_MAX_SECS).contains(&secs) => Ok(Some(secs)),
        _ => Err(ApiError::invalid(Field::TokenExpiry, token_lifetime_rule())),
    }
}

/// The rule [`token_lifetime`] enforces, in the words a form shows.
pub fn token_lifetime_rule() -> String {
    format!("A token lives 1 to {TOKEN_LIFETIME_MAX_SECS} seconds (one year), or until revoked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_fold_case_and_follow_the_rules() {
        assert_eq!(username_key("Alice_01").unwrap(), "alice_01");
        for bad in [
            "ab",
            "a".repeat(33).as_str(),
            "al ice",
            "ålice",
            "_alice",
            "a'; DROP",
            "",
        ] {
            assert_eq!(
                username_key(bad).unwrap_err().field(),
                Some(Field::Username),
                "{bad}"
            );
        }
    }

    #[test]
    fn display_names_default_to_the_username_and_refuse_control_characters() {
        assert_eq!(display_name("  ", "bob").unwrap(), "bob");
        assert_eq!(display_name(" Bob B ", "bob").unwrap(), "Bob B");
        assert!(display_name("a\u{0}b", "bob").is_err());
        assert!(display_name(&"x".repeat(65), "bob").is_err());
    }

    #[test]
    fn passwords_are_checked_by_length_in_characters() {
        assert!(check_password("seven77", Field::Password).is_err());
        assert!(check_password("ééééééééé", Field::Password).is_ok());
        assert!(check_password(&"p".repeat(129), Field::Password).is_err());
    }

    #[test]
    fn errors_map_to_statuses_and_serialise_with_a_tag() {
        assert_eq!(ApiError::BadCredentials.status(), 401);
        assert_eq!(
            ApiError::RateLimited {
                retry_after_secs: 3
            }
            .status(),
            429
        );
        let json = serde_json::to_string(&ApiError::UsernameTaken).unwrap();
        assert_eq!(json, r#"{"error":"username_taken"}"#);
        // Every variant must serialise: server_fn panics on an error it cannot encode.
        for err in [
            ApiError::BadRequest { reason: "r".into() },
            ApiError::Unreachable { reason: "r".into() },
            ApiError::Internal,
            ApiError::NotFound,
            ApiError::Unauthenticated,
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            ApiError::invalid(Field::TokenName, "m"),
        ] {
            let text = serde_json::to_string(&err).unwrap();
            assert_eq!(serde_json::from_str::<ApiError>(&text).unwrap(), err);
        }
    }
}
