//! The access-token part of `/settings`: create one with an optional lifetime, see its secret
//! once, list and revoke. Plain `ActionForm`s, like the rest of the account pages.

use leptos::prelude::*;

use super::{FormError, Input, SubmitRow, failure};
use crate::auth::{
    self, Field, TokenInfo,
    tokens::{CreateToken, RevokeToken, list_tokens},
};

/// The lifetimes offered, as `expires_in_secs` values ("" = until revoked) and labels.
const LIFETIMES: &[(&str, &str)] = &[
    ("", "Never (until revoked)"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
    ("7776000", "90 days"),
    ("31536000", "1 year"),
];

/// The user's access tokens and the form that makes one.
#[component]
pub fn TokensSection() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let error = failure(create);
    let expiry_error = move || {
        error
            .get()
            .filter(|e| e.field() == Some(Field::TokenExpiry))
            .map(|e| e.to_string())
    };
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let secret = move || {
        create.value().get().and_then(Result::ok).map(|secret| {
            view! { "Copy it now; it is not shown again: " <code>{secret}</code> }
        })
    };
    view! {
        <section class="card auth" data-testid="tokens">
            <h2>"Access tokens"</h2>
            <p class="aside">
                "For bots and scripts, sent as " <code>"Authorization: Bearer …"</code>
                ". Changing your password revokes them all."
            </p>
            <ActionForm action=create attr:class="form">
                <FormError error />
                <Input
                    name="name"
                    label="Token name"
                    autocomplete="off"
                    field=Field::TokenName
                    error
                    maxlength=auth::TOKEN_NAME_MAX
                />
                <label for="expires_in_secs">"Expires after"</label>
                <select id="expires_in_secs" name="expires_in_secs">
                    {LIFETIMES
                        .iter()
                        .map(|(value, label)| view! { <option value=*value>{*label}</option> })
                        .collect_view()}
                </select>
                <p class="field-error" role="alert" data-testid="expires_in_secs-error">
                    {expiry_error}
                </p>
                <SubmitRow label="Create token" pending=create.pending() testid="token-secret">
                    {secret}
                </SubmitRow>
            </ActionForm>
            <Transition fallback=|| ()>
                <ul class="tokens" data-testid="token-list">
                    {move || Suspend::new(async move {
                        tokens
                            .await
                            .unwrap_or_default()
                            .into_iter()
                            .map(|token| view! { <TokenRow token revoke /> })
                            .collect_view()
                    })}
                </ul>
            </Transition>
        </section>
    }
}

/// One listed token with its expiry and a revoke button.
#[component]
fn TokenRow(token: TokenInfo, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let expiry = token.expires_at.map_or_else(
        || "never expires".to_owned(),
        |at| format!("expires {} UTC", utc_date(at)),
    );
    view! {
        <li>
            <strong>{token.name}</strong>
            " · "
            <span>{expiry}</span>
            <ActionForm action=revoke attr:class="inline">
                <input type="hidden" name="id" value=token.id.to_string() />
                <button type="submit" class="link">
                    "Revoke"
                </button>
            </ActionForm>
        </li>
    }
}

/// `YYYY-MM-DD` of a Unix time in UTC (the same on the server and in the browser, so hydration
/// matches).
fn utc_date(unix_secs: i64) -> String {
    // Days to a civil date, after Howard Hinnant's `civil_from_days`.
    let days = unix_secs.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::utc_date;

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_796_031_875), "2026-11-30");
    }
}
