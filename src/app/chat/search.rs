//! Message search in the sidebar: the search box, and while a search is open, its hits in
//! place of the conversation list. Each hit names its conversation, sender and time, shows the
//! text around the first matched word with every matched word marked, and opens the
//! conversation scrolled to the message (older history is loaded until the list holds it).
//!
//! A component: depends on the model handle and the protocol's search rules.

use leptos::prelude::*;

use super::{Chat, text::local_time};
use crate::protocol::{SearchHit, search_matches};

/// How many characters of a hit's text show around its first matched word.
const SNIPPET_CHARS: usize = 160;

/// How many characters before the first matched word the snippet starts.
const LEAD_CHARS: usize = 40;

/// The part of `body` a hit shows, as pieces with whether each is a matched word: at most
/// [`SNIPPET_CHARS`] characters from a little before the first match, on one line, with an
/// ellipsis where the text was cut.
pub fn snippet(body: &str, terms: &[String]) -> Vec<(String, bool)> {
    let flat: String = body
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let matches = search_matches(&flat, terms);
    let first = matches.first().map_or(0, |m| m.0);
    // Start LEAD_CHARS characters before the first match, on a character boundary.
    let lead = flat[..first].char_indices().rev().nth(LEAD_CHARS - 1);
    let start = lead.map_or(0, |(i, _)| i);
    let end = flat[start..]
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(flat.len(), |(i, _)| start + i);
    let mut pieces = Vec::new();
    let mut at = start;
    for &(from, to) in matches.iter().filter(|m| m.0 >= start && m.1 <= end) {
        if from > at {
            pieces.push((flat[at..from].to_owned(), false));
        }
        pieces.push((flat[from..to].to_owned(), true));
        at = to;
    }
    if at < end {
        pieces.push((flat[at..end].to_owned(), false));
    }
    if start > 0 {
        pieces.insert(0, ("…".to_owned(), false));
    }
    if end < flat.len() {
        pieces.push(("…".to_owned(), false));
    }
    pieces
}

/// The search box; Escape or the close button ends the search.
#[component]
pub fn SearchBox() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let typed = RwSignal::new(String::new());
    let close = move || {
        typed.set(String::new());
        chat.close_search();
    };
    view! {
        <form
            class="search"
            role="search"
            on:submit=move |ev| {
                ev.prevent_default();
                let text = typed.get_untracked();
                if text.trim().is_empty() {
                    chat.close_search();
                } else {
                    chat.find(text);
                }
            }
        >
            <label for="search" class="visually-hidden">
                "Search messages"
            </label>
            <input
                id="search"
                type="search"
                placeholder="Search messages"
                autocomplete="off"
                maxlength=200
                bind:value=typed
                data-testid="search-input"
                aria-describedby="search-hint"
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        close();
                    }
                }
            />
            <span id="search-hint" class="visually-hidden">
                "Filters: from:username, in:conversation, after:YYYY-MM-DD, before:YYYY-MM-DD"
            </span>
            <Show when=move || chat.search().with(|s| s.is_open())>
                <button
                    type="button"
                    class="secondary close-search"
                    aria-label="Close search"
                    on:click=move |_| close()
                >
                    "×"
                </button>
            </Show>
        </form>
    }
}

/// The open search's hits, or why there are none.
#[component]
pub fn SearchResults() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let search = chat.search();
    let status = move || {
        search.with(|s| {
            if let Some(problem) = &s.problem {
                problem.clone()
            } else if s.hits.is_none() {
                "Searching…".to_owned()
            } else if s.hits.as_ref().is_some_and(Vec::is_empty) {
                format!("No messages match “{}”.", s.typed)
            } else {
                let n = s.hits.as_ref().map_or(0, Vec::len);
                let more = if s.next.is_some() { "+" } else { "" };
                let says = if n == 1 && more.is_empty() {
                    "message matches"
                } else {
                    "messages match"
                };
                format!("{n}{more} {says} “{}”.", s.typed)
            }
        })
    };
    view! {
        <section class="search-results" aria-label="Search results" data-testid="search-results">
            <p class="search-status" role="status" data-testid="search-status">
                {status}
            </p>
            <ul class="hits">
                <For
                    each=move || search.with(|s| s.hits.clone().unwrap_or_default())
                    key=|hit| (hit.conv, hit.seq)
                    children=move |hit| view! { <Hit hit /> }
                />
            </ul>
            <Show when=move || search.with(|s| s.next.is_some())>
                <button
                    type="button"
                    class="secondary"
                    disabled=move || search.with(|s| s.loading)
                    on:click=move |_| chat.find_more()
                >
                    "More results"
                </button>
            </Show>
        </section>
    }
}

/// One hit: a link into its conversation, at the message.
#[component]
fn Hit(hit: SearchHit) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let (conv, seq) = (hit.conv, hit.seq);
    let place = move || {
        chat.conversations()
            .with(|list| list.iter().find(|c| c.id == conv).map(|c| c.name.clone()))
            .unwrap_or_default()
    };
    let terms = chat.search().with_untracked(|s| s.terms.clone());
    let pieces = snippet(&hit.body, &terms)
        .into_iter()
        .map(|(text, marked)| {
            if marked {
                view! { <mark>{text}</mark> }.into_any()
            } else {
                text.into_any()
            }
        })
        .collect_view();
    view! {
        <li>
            <a
                href=format!("/c/{conv}")
                class="hit"
                data-testid="search-hit"
                on:click=move |_| chat.acting.jump.set(Some((conv, seq)))
            >
                <span class="hit-place">{place}</span>
                <span class="hit-from">{hit.from_name.clone()}</span>
                <time class="hit-time">{local_time(hit.at)}</time>
                <span class="hit-text">{pieces}{hit.edited.then_some(" (edited)")}</span>
            </a>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::search_terms;

    fn shown(pieces: &[(String, bool)]) -> String {
        pieces
            .iter()
            .map(|(t, m)| if *m { format!("[{t}]") } else { t.clone() })
            .collect()
    }

    #[test]
    fn a_snippet_marks_the_matches_on_one_line() {
        let terms = search_terms("deploy api");
        let pieces = snippet("We deploy\nthe API today", &terms);
        assert_eq!(shown(&pieces), "We [deploy] the [API] today");
    }

    #[test]
    fn a_long_text_is_cut_around_the_first_match() {
        let terms = search_terms("needle");
        let body = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let text = shown(&snippet(&body, &terms));
        assert!(text.starts_with('…') && text.ends_with('…'), "{text}");
        assert!(text.contains("[needle]"));
        assert!(text.chars().count() <= SNIPPET_CHARS + 2 + "[]".len());
        // Multi-byte text is cut on character boundaries.
        let wide = format!("{} 東京 {}", "日本".repeat(100), "語".repeat(300));
        assert!(shown(&snippet(&wide, &search_terms("東京"))).contains("[東京]"));
    }
}
