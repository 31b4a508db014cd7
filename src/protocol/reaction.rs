//! Which strings are reactions: the palette a client offers first, and the rule for any other
//! emoji. Shared by both halves, so a client can refuse what the server would refuse.
//!
//! Depends on the `emojis` crate (the Unicode emoji list, as data; it builds for wasm32) only.

/// The reactions a client offers before any other emoji, in this order.
pub const REACTION_PALETTE: [&str; 8] = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];

/// The most distinct emoji one message may carry (each with any number of people).
pub const MAX_REACTIONS_PER_MESSAGE: usize = 20;

/// The longest reaction accepted, in bytes: the longest emoji of the Unicode list (family and
/// flag sequences) is 35 bytes, so this only cuts off what could never be one.
pub const MAX_REACTION_BYTES: usize = 64;

/// Whether `emoji` is a reaction: exactly one emoji of the Unicode emoji list (skin tones and
/// joined sequences included), with nothing before or after it. Text, several emoji, a bare
/// modifier or anything over [`MAX_REACTION_BYTES`] is not.
pub fn is_reaction(emoji: &str) -> bool {
    emoji.len() <= MAX_REACTION_BYTES
        && (REACTION_PALETTE.contains(&emoji) || emojis::get(emoji).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_is_a_reaction_anything_else_is_not() {
        for ok in REACTION_PALETTE
            .into_iter()
            .chain(["🦀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "1️⃣", "❤"])
        {
            assert!(is_reaction(ok), "{ok:?} is one emoji");
        }
        for bad in [
            "", " ", "a", "ok", "👍👍", "👍 ", " 👍", "🏽", "\u{200d}", "👍a", "<b>", "🇫",
        ] {
            assert!(!is_reaction(bad), "{bad:?} is not one emoji");
        }
        assert!(!is_reaction(&"👍".repeat(40)), "over-long");
    }
}
