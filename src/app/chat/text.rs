//! Bare web links in message text, and times, days and counts as the viewer should see them.
//!
//! [`segments`] splits text into plain text and web links, for [`super::markdown`] to show as
//! text nodes and `<a>` elements. Only `http:` and `https:` links, and bare `www.` names, are
//! found; anything else, `javascript:` included, stays text.

/// A piece of a message body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Shown as typed.
    Text(String),
    /// A web link: the address to open, and the text as typed.
    Link {
        /// Always `http://…` or `https://…`.
        href: String,
        /// What the user typed.
        text: String,
    },
}

/// Where a link may start in `rest`, and the scheme prefix its href needs.
fn link_start(rest: &str) -> Option<&'static str> {
    let lower = |prefix: &str| {
        rest.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if lower("https://") || lower("http://") {
        Some("")
    } else if lower("www.") {
        Some("https://")
    } else {
        None
    }
}

/// Characters that end a link: space, and what would break out of an attribute or a sentence.
fn ends_link(c: char) -> bool {
    c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`' | '{' | '}' | '|' | '\\' | '^')
}

/// Splits `body` into text and links.
pub fn segments(body: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < body.len() {
        let at_boundary = i == 0
            || body[..i]
                .chars()
                .next_back()
                .is_some_and(|c| !c.is_alphanumeric() && c != '/' && c != '.');
        let found = if at_boundary {
            link_start(&body[i..])
        } else {
            None
        };
        let Some(prefix) = found else {
            i += body[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let len = body[i..].find(ends_link).unwrap_or(body.len() - i);
        let mut link = &body[i..i + len];
        // Sentence punctuation after a link is not part of it; a closing bracket is only when
        // the link opened one.
        loop {
            let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '*']);
            let trimmed = match trimmed.strip_suffix(')') {
                Some(shorter) if !shorter.contains('(') => shorter,
                _ => trimmed,
            };
            if trimmed.len() == link.len() {
                break;
            }
            link = trimmed;
        }
        let host = link.split_once("//").map_or(link, |(_, rest)| rest);
        let host = host.split(['/', '?', '#']).next().unwrap_or("");
        // A host is a name with a dot and a top-level part of two or more characters (bare
        // `www.` names need one more dot: `www.example.org`), or `localhost`.
        let top_level = host.rsplit_once('.').map_or("", |(_, tld)| tld);
        let dots_needed = if prefix.is_empty() { 1 } else { 2 };
        let named = host.matches('.').count() >= dots_needed && top_level.chars().count() >= 2;
        let local = prefix.is_empty() && host.starts_with("localhost");
        if !named && !local {
            i += link.len().max(1);
            continue;
        }
        if text_start < i {
            out.push(Segment::Text(body[text_start..i].to_string()));
        }
        out.push(Segment::Link {
            href: format!("{prefix}{link}"),
            text: link.to_string(),
        });
        i += link.len();
        text_start = i;
    }
    if text_start < body.len() {
        out.push(Segment::Text(body[text_start..].to_string()));
    }
    out
}

/// `at` (Unix ms) as the viewer's local time of day.
#[cfg(feature = "hydrate")]
pub fn local_time(at: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into());
    let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
    String::from(date.to_locale_time_string_with_options("default", &options))
}

/// The server does not know the viewer's time zone: times appear once the page hydrates.
#[cfg(not(feature = "hydrate"))]
pub fn local_time(_at: i64) -> String {
    String::new()
}

/// The viewer's local calendar day of `at` (Unix ms), as a sortable number, and how to name it.
#[cfg(feature = "hydrate")]
pub fn local_day(at: i64) -> (i64, String) {
    let day_of = |date: &js_sys::Date| {
        i64::from(date.get_full_year()) * 10_000
            + i64::from(date.get_month()) * 100
            + i64::from(date.get_date())
    };
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    let key = day_of(&date);
    let now = js_sys::Date::new_0();
    let today = day_of(&now);
    let yesterday = day_of(&js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        now.get_time() - 86_400_000.0,
    )));
    let label = if key == today {
        "Today".to_string()
    } else if key == yesterday {
        "Yesterday".to_string()
    } else {
        let options = js_sys::Object::new();
        for (k, v) in [("weekday", "long"), ("month", "long"), ("day", "numeric")] {
            let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
        }
        if date.get_full_year() != now.get_full_year() {
            let _ = js_sys::Reflect::set(&options, &"year".into(), &"numeric".into());
        }
        String::from(date.to_locale_date_string("default", &options))
    };
    (key, label)
}

/// On the server, days are not grouped (see [`local_time`]).
#[cfg(not(feature = "hydrate"))]
pub fn local_day(_at: i64) -> (i64, String) {
    (0, String::new())
}

/// How many members a conversation has, in words: "1 member", "3 members".
pub fn members(count: usize) -> String {
    match count {
        1 => "1 member".to_owned(),
        n => format!("{n} members"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Segment, segments};

    fn link(href: &str, text: &str) -> Segment {
        Segment::Link {
            href: href.into(),
            text: text.into(),
        }
    }

    fn text(t: &str) -> Segment {
        Segment::Text(t.into())
    }

    #[test]
    fn plain_text_is_one_segment() {
        assert_eq!(segments("hello there"), vec![text("hello there")]);
        assert_eq!(segments(""), vec![]);
    }

    #[test]
    fn web_links_are_found_with_trailing_punctuation_left_out() {
        assert_eq!(
            segments("see https://example.com/a?b=1, then"),
            vec![
                text("see "),
                link("https://example.com/a?b=1", "https://example.com/a?b=1"),
                text(", then")
            ]
        );
        assert_eq!(
            segments("(www.example.org)."),
            vec![
                text("("),
                link("https://www.example.org", "www.example.org"),
                text(").")
            ]
        );
        assert_eq!(
            segments("https://en.wikipedia.org/wiki/Rust_(language)"),
            vec![link(
                "https://en.wikipedia.org/wiki/Rust_(language)",
                "https://en.wikipedia.org/wiki/Rust_(language)"
            )]
        );
    }

    #[test]
    fn script_and_markup_never_become_links() {
        let body = "javascript:alert(1) <a href=\"javascript:x\">y</a> data:text/html,<b>";
        assert_eq!(segments(body), vec![text(body)]);
        // A link ends where markup would begin.
        assert_eq!(
            segments("http://a.example\"onmouseover=x"),
            vec![
                link("http://a.example", "http://a.example"),
                text("\"onmouseover=x")
            ]
        );
    }

    #[test]
    fn links_need_a_boundary_and_a_host() {
        assert_eq!(segments("xhttps://a.b"), vec![text("xhttps://a.b")]);
        assert_eq!(segments("https:// nothing"), vec![text("https:// nothing")]);
        assert_eq!(segments("www. and www.x"), vec![text("www. and www.x")]);
        assert_eq!(
            segments("héllo https://ü.example/ä"),
            vec![
                text("héllo "),
                link("https://ü.example/ä", "https://ü.example/ä")
            ]
        );
    }
}
