//! Searching messages: what a search looks for, one hit, where the next page starts, and how a
//! typed query (`deploy from:ann in:ops after:2026-11-01`) becomes the fields of a `search`
//! frame. Both halves split the text into words the same way, so the browser highlights exactly
//! the words the server matched.
//!
//! Depends on serde and the id types alone.

use serde::{Deserialize, Serialize};

use super::{ConvId, Seq, UserId};

/// The longest `search` text, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// How many words of a search count; later ones are ignored.
pub const MAX_SEARCH_TERMS: usize = 8;

/// The shortest word searched for, in characters: a single letter would match nearly every
/// message as a prefix.
pub const MIN_TERM_CHARS: usize = 2;

/// The longest word searched for, in characters (longer ones are cut).
pub const MAX_TERM_CHARS: usize = 64;

/// How many hits one `search_results` page holds unless the client asks for fewer.
pub const SEARCH_PAGE: u32 = 20;

/// The most hits one `search_results` page holds.
pub const MAX_SEARCH_PAGE: u32 = 50;

/// Where a page of hits ends: the last hit's time and place. The next page holds the hits
/// older than it (hits come newest first; ties are broken by conversation, then seq).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchCursor {
    /// The hit's `at`.
    pub at: i64,
    /// Its conversation.
    pub conv: ConvId,
    /// Its seq.
    pub seq: Seq,
}

/// One message a search found, with its current text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The conversation (one the searcher is a member of).
    pub conv: ConvId,
    /// The message's seq.
    pub seq: Seq,
    /// Its sender.
    pub from: UserId,
    /// The sender's display name (a hit can come from a conversation whose members the
    /// client has not loaded).
    pub from_name: String,
    /// When it was sent, Unix milliseconds.
    pub at: i64,
    /// Its text now (the latest edit's, if it was edited).
    pub body: String,
    /// Whether it was edited.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
}

impl SearchHit {
    /// Where the page that ends with this hit ends.
    pub fn cursor(&self) -> SearchCursor {
        SearchCursor {
            at: self.at,
            conv: self.conv,
            seq: self.seq,
        }
    }
}

/// The words `text` is searched for: runs of letters and digits, lower-cased, each at least
/// [`MIN_TERM_CHARS`] and at most [`MAX_TERM_CHARS`] long, each once, at most
/// [`MAX_SEARCH_TERMS`] of them. A message matches when it has every word, each as a word or
/// the start of one ("depl" finds "deploy").
pub fn search_terms(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if terms.len() == MAX_SEARCH_TERMS {
            break;
        }
        if word.chars().count() < MIN_TERM_CHARS {
            continue;
        }
        let word: String = word
            .chars()
            .take(MAX_TERM_CHARS)
            .collect::<String>()
            .to_lowercase();
        if !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

/// Where in `text` the words of `terms` (from [`search_terms`]) occur, as byte ranges in
/// order: each run of letters and digits that starts with a term, matched ignoring case, is
/// marked up to the term's length (or the whole run when lower-casing changes lengths).
pub fn search_matches(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut start = None;
    let bounds = text
        .char_indices()
        .map(|(i, c)| (i, c.is_alphanumeric()))
        .chain(std::iter::once((text.len(), false)));
    for (i, alnum) in bounds {
        match (start, alnum) {
            (None, true) => start = Some(i),
            (Some(from), false) => {
                let word = &text[from..i];
                let lower = word.to_lowercase();
                if let Some(term) = terms.iter().find(|t| lower.starts_with(t.as_str())) {
                    let end = if lower.len() == word.len() {
                        from + term.len()
                    } else {
                        i
                    };
                    found.push((from, end));
                }
                start = None;
            }
            _ => {}
        }
    }
    found
}

/// A typed search, split into its words and its filters: `from:<username>` (or `from:@name`),
/// `in:<conversation name>` (or `in:#name`), `before:<YYYY-MM-DD>` and `after:<YYYY-MM-DD>`;
/// everything else is the text. A filter given twice keeps the last.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypedSearch {
    /// The words to find.
    pub text: String,
    /// `from:` — a username.
    pub from: Option<String>,
    /// `in:` — a conversation's name, as the sidebar shows it.
    pub within: Option<String>,
    /// `after:` — the start of this day (UTC), Unix milliseconds.
    pub after: Option<i64>,
    /// `before:` — the start of this day (UTC), Unix milliseconds.
    pub before: Option<i64>,
}

impl TypedSearch {
    /// Reads what someone typed into the search box.
    pub fn parse(input: &str) -> Self {
        let mut typed = Self::default();
        let mut words = Vec::new();
        for word in input.split_whitespace() {
            let (key, value) = word.split_once(':').unwrap_or(("", word));
            match key.to_ascii_lowercase().as_str() {
                "from" if !value.is_empty() => {
                    typed.from = Some(value.trim_start_matches('@').to_owned());
                }
                "in" if !value.is_empty() => {
                    typed.within = Some(value.trim_start_matches('#').to_owned());
                }
                "after" if day_start(value).is_some() => typed.after = day_start(value),
                "before" if day_start(value).is_some() => typed.before = day_start(value),
                _ => words.push(word),
            }
        }
        typed.text = words.join(" ");
        typed
    }
}

/// The first millisecond (UTC) of the day `date` names as `YYYY-MM-DD`.
pub fn day_start(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days since 1970-01-01 in the proleptic Gregorian calendar (a March-based year, so the
    // leap day is the year's last).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_lower_cased_words_of_two_letters_or_more_each_once() {
        assert_eq!(
            search_terms("Deploy the API, a deploy-ready x build! Ünïcode 東京"),
            ["deploy", "the", "api", "ready", "build", "ünïcode", "東京"]
        );
        assert!(search_terms("a b c !!! ").is_empty());
        assert_eq!(search_terms(&"word ".repeat(20)), ["word"]);
        let many: String = (0..20).map(|i| format!("w{i} ")).collect();
        assert_eq!(search_terms(&many).len(), MAX_SEARCH_TERMS);
        assert_eq!(
            search_terms(&"x".repeat(100))[0].chars().count(),
            MAX_TERM_CHARS
        );
    }

    #[test]
    fn matches_mark_each_word_that_starts_with_a_term() {
        let terms = search_terms("depl api");
        let text = "Deploying the API; redeploy? Api-first.";
        let marked: Vec<&str> = search_matches(text, &terms)
            .into_iter()
            .map(|(a, b)| &text[a..b])
            .collect();
        assert_eq!(marked, ["Depl", "API", "Api"]);
        assert!(search_matches("nothing here", &terms).is_empty());
    }

    #[test]
    fn a_typed_search_splits_into_words_and_filters() {
        let typed = TypedSearch::parse("release notes from:@Ann in:#ops after:2026-11-01 x:y");
        assert_eq!(typed.text, "release notes x:y");
        assert_eq!(typed.from.as_deref(), Some("Ann"));
        assert_eq!(typed.within.as_deref(), Some("ops"));
        assert_eq!(typed.after, Some(1_793_491_200_000));
        assert_eq!(typed.before, None);
        // A date that is not one stays a word.
        assert_eq!(TypedSearch::parse("before:soon").text, "before:soon");
    }

    #[test]
    fn day_start_counts_days_like_the_calendar() {
        assert_eq!(day_start("1970-01-01"), Some(0));
        assert_eq!(day_start("2000-03-01"), Some(951_868_800_000));
        assert_eq!(day_start("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(day_start("2026-13-01"), None);
        assert_eq!(day_start("2026-1"), None);
    }
}
