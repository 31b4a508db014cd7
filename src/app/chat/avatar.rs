//! Avatars: a person's initials on a colour chosen by their id, the same on every screen and
//! device (until pictures exist, with files). Decoration only: the name beside it is what
//! assistive technology reads, so the avatar is hidden from it, and its letters are drawn by CSS
//! (`data-initials`), so they are not part of any text the page says.
//!
//! A component: depends on the model handle for names, and on `protocol`.

use leptos::prelude::*;

use super::{Chat, Part};
use crate::protocol::{ConvId, UserId};

/// How many avatar colours `style/main.css` defines (`.avatar.c0` … `.avatar.c11`, each at
/// least 5:1 against the white initials: WCAG AA at any size). Classes, not inline styles: the
/// page's CSP allows no `style` attribute.
const COLOURS: u64 = 12;

/// Up to two letters for `name`: the first letters of its first two words ("Ann Lee" → "AL",
/// "ben_m" → "BM"), or its first letter; "?" for an empty name.
pub fn initials(name: &str) -> String {
    let mut words = name
        .split(|c: char| c.is_whitespace() || matches!(c, '_' | '-' | '.'))
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()));
    let letters: String = words
        .by_ref()
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        "?".into()
    } else {
        letters
    }
}

/// The colour class of `user`'s avatar: fixed by the id, so a rename keeps it.
pub fn colour(user: UserId) -> String {
    // A multiplicative hash spreads consecutive ids over the palette.
    let mixed = (user.0 as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
    format!("avatar c{}", mixed % COLOURS)
}

/// `user`'s avatar, with initials of `name` (which may change while it shows).
#[component]
pub fn Avatar(
    /// Whose.
    user: UserId,
    /// Their display name now.
    #[prop(into)]
    name: Signal<String>,
) -> impl IntoView {
    view! {
        <span
            class=colour(user)
            aria-hidden="true"
            data-initials=move || name.with(|n| initials(n))
        ></span>
    }
}

impl Chat {
    /// `user`'s display name in `conv` as others see it (the user's own too), tracked.
    pub fn display_name(&self, conv: ConvId, user: UserId) -> String {
        for part in [Part::Me, Part::Conversations, Part::Members] {
            self.parts[part as usize].track();
        }
        self.model.with_value(|m| m.display_name(conv, user))
    }

    /// The user's own display name as the page knows it now, tracked.
    pub fn own_name(&self) -> Option<String> {
        for part in [Part::Me, Part::Conversations, Part::Members] {
            self.parts[part as usize].track();
        }
        self.model.with_value(|m| m.own_name())
    }

    /// How many display-name changes the server has confirmed, tracked.
    pub fn profile_saved(&self) -> u64 {
        self.parts[Part::Me as usize].track();
        self.model.with_value(|m| m.profile_saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(initials("Ann Lee"), "AL");
        assert_eq!(initials("ben_mx5x8eu1796542"), "BM");
        assert_eq!(initials("zoë"), "Z");
        assert_eq!(initials("  émile  zola  x"), "ÉZ");
        assert_eq!(initials("@@"), "?");
        assert_eq!(initials(""), "?");
    }

    #[test]
    fn a_user_keeps_one_colour_and_neighbours_differ() {
        assert_eq!(colour(UserId(7)), colour(UserId(7)));
        let distinct: std::collections::HashSet<_> = (1..=6).map(|id| colour(UserId(id))).collect();
        assert!(distinct.len() >= 4, "{distinct:?}");
    }
}
