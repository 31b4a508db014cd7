//! How a no-JS form post's error travels back to its page: as a fixed code in the query string
//! (`?error=bad_credentials`), which the page turns back into an error with a fixed message.
//!
//! The framework would put the whole serialised error in the URL (`__err`), message included, and
//! a page would show whatever a link says; anyone could then put their own words in our log-in
//! form. A code carries no words: the worst a crafted link can do is show one of our own
//! messages. The server ([`crate::server::web::form_redirect`]) writes the code; the pages read it
//! with [`from_query`].

use super::{ApiError, DISPLAY_NAME_MAX, Field, PASSWORD_LEN, TOKEN_NAME_MAX, USERNAME_LEN};

/// The query parameter naming the code.
pub const ERROR_PARAM: &str = "error";
/// The query parameter carrying a rate limit's wait, in seconds, next to `error=rate_limited`.
pub const RETRY_PARAM: &str = "retry_after";
/// The longest wait a link can make a page announce.
const MAX_RETRY_SECS: u64 = 3600;

/// Every code, with the field it concerns for the `invalid_*` ones.
const INVALID: &[(&str, Field)] = &[
    ("invalid_username", Field::Username),
    ("invalid_display_name", Field::DisplayName),
    ("invalid_password", Field::Password),
    ("invalid_current_password", Field::CurrentPassword),
    ("invalid_token_name", Field::TokenName),
    ("invalid_token_expiry", Field::TokenExpiry),
];

/// The query pairs that stand for `err`: its code, and for a rate limit its wait.
pub fn to_query(err: &ApiError) -> Vec<(&'static str, String)> {
    let code = match err {
        ApiError::Invalid { field, .. } => INVALID
            .iter()
            .find(|(_, f)| f == field)
            .map_or("bad_request", |(code, _)| code),
        ApiError::UsernameTaken => "username_taken",
        ApiError::BadCredentials => "bad_credentials",
        ApiError::RateLimited { retry_after_secs } => {
            return vec![
                (ERROR_PARAM, "rate_limited".into()),
                (RETRY_PARAM, retry_after_secs.to_string()),
            ];
        }
        ApiError::Unauthenticated => "unauthenticated",
        ApiError::NotFound => "not_found",
        ApiError::BadRequest { .. } => "bad_request",
        ApiError::Unreachable { .. } | ApiError::Internal => "internal",
    };
    vec![(ERROR_PARAM, code.into())]
}

/// The error a code stands for, with our fixed message; `None` for anything else.
pub fn from_query(code: &str, retry_after: Option<&str>) -> Option<ApiError> {
    if let Some((_, field)) = INVALID.iter().find(|(c, _)| *c == code) {
        return Some(ApiError::Invalid {
            field: *field,
            message: rules(*field),
        });
    }
    Some(match code {
        "username_taken" => ApiError::UsernameTaken,
        "bad_credentials" => ApiError::BadCredentials,
        "rate_limited" => ApiError::RateLimited {
            retry_after_secs: retry_after
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(1)
                .clamp(1, MAX_RETRY_SECS),
        },
        "unauthenticated" => ApiError::Unauthenticated,
        "not_found" => ApiError::NotFound,
        "bad_request" => ApiError::BadRequest {
            reason: "the form could not be read".into(),
        },
        "internal" => ApiError::Internal,
        _ => return None,
    })
}

/// Every rule of a field, in one fixed sentence (the code does not say which one was broken).
fn rules(field: Field) -> String {
    match field {
        Field::Username => format!(
            "Usernames are {} to {} characters: letters a–z, digits, '_', '.' and '-', starting \
             with a letter or digit",
            USERNAME_LEN.start(),
            USERNAME_LEN.end()
        ),
        Field::DisplayName => {
            format!(
                "Display names are at most {DISPLAY_NAME_MAX} characters, without control characters"
            )
        }
        Field::Password | Field::CurrentPassword => format!(
            "Passwords are {} to {} characters",
            PASSWORD_LEN.start(),
            PASSWORD_LEN.end()
        ),
        Field::TokenName => {
            format!("Token names are 1 to {TOKEN_NAME_MAX} printable characters")
        }
        Field::TokenExpiry => super::token_lifetime_rule(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(err: &ApiError) -> Option<ApiError> {
        let pairs = to_query(err);
        let code = &pairs[0].1;
        let retry = pairs.get(1).map(|(_, v)| v.as_str());
        from_query(code, retry)
    }

    #[test]
    fn every_error_comes_back_as_the_same_kind_with_our_own_words() {
        let errors = [
            ApiError::Invalid {
                field: Field::Username,
                message: "<b>call 555-0100</b>".into(),
            },
            ApiError::UsernameTaken,
            ApiError::BadCredentials,
            ApiError::RateLimited {
                retry_after_secs: 30,
            },
            ApiError::Unauthenticated,
            ApiError::NotFound,
            ApiError::BadRequest {
                reason: "attacker text".into(),
            },
            ApiError::Internal,
        ];
        for err in errors {
            let back = round_trip(&err).expect("every code is known");
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&err));
            assert_eq!(back.field(), err.field());
            let shown = back.to_string();
            assert!(
                !shown.contains("555") && !shown.contains("attacker"),
                "{shown}"
            );
        }
    }

    #[test]
    fn unknown_codes_show_nothing_and_a_huge_wait_is_capped() {
        assert_eq!(from_query("Your account is locked, call us", None), None);
        assert_eq!(
            from_query("rate_limited", Some("99999999")),
            Some(ApiError::RateLimited {
                retry_after_secs: MAX_RETRY_SECS
            })
        );
    }
}
