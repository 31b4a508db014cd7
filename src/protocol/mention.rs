//! Mentions: `@username` in a message's text, the rule every client applies the same way.
//!
//! A mention is `@` followed by a username (3–32 of ASCII letters, digits, `_`, `.` and `-`,
//! starting with a letter or digit; see `auth::username_key`), where the `@` begins the text or
//! follows a character that cannot be part of a username or an address (so `ann@example.org` is
//! not one), and a trailing `.` or `-` is punctuation, not part of the name (`thanks @ben.`).
//! Names compare ignoring ASCII case, as usernames do. Nothing is stored for a mention: it is
//! part of the text, so it replays, edits and deletes with the message.

/// The shortest and longest username.
const NAME_LEN: std::ops::RangeInclusive<usize> = 3..=32;

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The mentions in `text`: each one's byte range (the `@` included) and the name mentioned.
pub fn mentions(text: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    text.match_indices('@').filter_map(move |(at, _)| {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| name_char(c) || c == '@') {
            return None;
        }
        let rest = &text[at + 1..];
        let end = rest.find(|c: char| !name_char(c)).unwrap_or(rest.len());
        let name = rest[..end].trim_end_matches(['.', '-']);
        let starts_well = name.starts_with(|c: char| c.is_ascii_alphanumeric());
        (starts_well && NAME_LEN.contains(&name.len())).then(|| (at..at + 1 + name.len(), name))
    })
}

/// Whether `text` mentions `username`.
pub fn mentions_user(text: &str, username: &str) -> bool {
    mentions(text).any(|(_, name)| name.eq_ignore_ascii_case(username))
}

/// What the writer is typing as a mention at the end of `before_caret` (the text up to the
/// caret): the byte offset of its `@` and the part of the name typed so far (possibly empty).
/// `None` when the caret is not in a mention.
pub fn mention_being_typed(before_caret: &str) -> Option<(usize, &str)> {
    let at = before_caret.rfind('@')?;
    let typed = &before_caret[at + 1..];
    let before = before_caret[..at].chars().next_back();
    let fits = typed.len() <= *NAME_LEN.end() && typed.chars().all(name_char);
    (fits && !before.is_some_and(|c| name_char(c) || c == '@')).then_some((at, typed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<&str> {
        mentions(text).map(|(_, name)| name).collect()
    }

    #[test]
    fn mentions_follow_the_username_rules() {
        assert_eq!(
            names("@ann hi @ben_2, and @c.d-e."),
            ["ann", "ben_2", "c.d-e"]
        );
        assert_eq!(names("(@ann) @ann! @ann?"), ["ann", "ann", "ann"]);
        // Addresses, doubled signs, too short, too long, or a bad first character.
        assert!(names("mail ann@example.org or @@ann").is_empty());
        assert!(names("@ab @_ann @.ann @").is_empty());
        assert!(names(&format!("@{}", "a".repeat(33))).is_empty());
        assert_eq!(names(&format!("@{}", "a".repeat(32))).len(), 1);
        // Not ASCII: the name stops at the first character a username cannot hold.
        assert_eq!(names("@annë"), ["ann"]);
        let (range, _) = mentions("hi @ben.").next().unwrap();
        assert_eq!(&"hi @ben."[range], "@ben");
    }

    #[test]
    fn a_user_is_mentioned_ignoring_case() {
        assert!(mentions_user("hey @Ben", "ben"));
        assert!(!mentions_user("hey @benny", "ben"));
        assert!(!mentions_user("ben@example.org", "ben"));
    }

    #[test]
    fn the_mention_being_typed_is_found_at_the_caret() {
        assert_eq!(mention_being_typed("hi @be"), Some((3, "be")));
        assert_eq!(mention_being_typed("@"), Some((0, "")));
        assert_eq!(mention_being_typed("hi @ben "), None);
        assert_eq!(mention_being_typed("ann@ex"), None);
        assert_eq!(mention_being_typed("no sign"), None);
    }
}
