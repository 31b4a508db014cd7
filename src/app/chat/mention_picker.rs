//! `@` in the composer: while the writer types a mention ([`mention_being_typed`]), a list of
//! the conversation's members whose username or display name starts with what is typed; Up and
//! Down choose, Enter or Tab puts `@username ` in the text, Esc closes the list, and a click on a
//! name does the same as Enter.
//!
//! A component: depends on the model handle, never on the page. The composer owns the text and
//! the field; it hands both here and asks [`MentionPicker::key`] first about every key.

use leptos::{html, prelude::*};

use super::Chat;
use crate::protocol::{ConvId, Member, mention_being_typed};

/// Most names the list shows.
const MAX_SHOWN: usize = 8;

/// The byte offset in `text` of a caret `utf16` code units in (how the browser counts).
fn byte_offset(text: &str, utf16: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        if units >= utf16 {
            return i;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// The members whose username or display name starts with `typed` (ignoring case), not `me`,
/// usernames in order, at most [`MAX_SHOWN`].
pub fn candidates(members: &[Member], typed: &str, me: &str) -> Vec<Member> {
    let typed = typed.to_lowercase();
    let mut found: Vec<Member> = members
        .iter()
        .filter(|m| !m.username.eq_ignore_ascii_case(me))
        .filter(|m| {
            m.username.to_lowercase().starts_with(&typed)
                || m.display_name.to_lowercase().starts_with(&typed)
        })
        .cloned()
        .collect();
    found.sort_by_key(|m| m.username.to_lowercase());
    found.truncate(MAX_SHOWN);
    found
}

/// The list's state: where the mention being typed starts, what is typed, which name is chosen.
#[derive(Clone, Copy)]
pub struct MentionPicker {
    chat: Chat,
    conv: ConvId,
    draft: RwSignal<String>,
    field: NodeRef<html::Textarea>,
    /// The `@`'s byte offset and the name typed after it, while the caret is in a mention.
    typing: RwSignal<Option<(usize, String)>>,
    chosen: RwSignal<usize>,
}

impl MentionPicker {
    /// A picker for the composer of `conv`, with its text and its field.
    pub fn new(conv: ConvId, draft: RwSignal<String>, field: NodeRef<html::Textarea>) -> Self {
        Self {
            chat: expect_context::<Chat>(),
            conv,
            draft,
            field,
            typing: RwSignal::new(None),
            chosen: RwSignal::new(0),
        }
    }

    /// The names on offer now.
    fn offered(&self) -> Vec<Member> {
        let chat = self.chat;
        let Some((_, typed)) = self.typing.get() else {
            return Vec::new();
        };
        let me = chat.username();
        chat.members().with(|all| {
            all.get(&self.conv)
                .map(|members| candidates(members, &typed, &me))
                .unwrap_or_default()
        })
    }

    /// Looks at the text before the caret again (after input, a click or a caret move).
    pub fn follow_caret(&self) {
        let Some(el) = self.field.get_untracked() else {
            return;
        };
        let text = el.value();
        let caret = el
            .selection_start()
            .ok()
            .flatten()
            .map_or(text.len(), |units| byte_offset(&text, units as usize));
        let now = mention_being_typed(&text[..caret]).map(|(at, typed)| (at, typed.to_string()));
        if now != self.typing.get_untracked() {
            self.chosen.set(0);
            self.typing.set(now);
        }
    }

    /// Puts `@username ` in place of the mention being typed, and the caret after it.
    fn insert(&self, username: &str) {
        let Some((at, typed)) = self.typing.get_untracked() else {
            return;
        };
        let text = self.draft.get_untracked();
        let end = (at + 1 + typed.len()).min(text.len());
        let inserted = format!("@{username} ");
        let new = format!("{}{inserted}{}", &text[..at], &text[end..]);
        let caret: usize = text[..at].encode_utf16().count() + inserted.len();
        self.typing.set(None);
        self.draft.set(new.clone());
        if let Some(el) = self.field.get_untracked() {
            el.set_value(&new);
            let _ = el.set_selection_range(caret as u32, caret as u32);
            let _ = el.focus();
        }
    }

    /// Handles `key` if the list is open: `true` when it did (the composer then does nothing).
    pub fn key(&self, key: &str) -> bool {
        let offered = self.offered();
        if offered.is_empty() {
            return false;
        }
        let n = offered.len();
        match key {
            "ArrowDown" => self.chosen.update(|c| *c = (*c + 1) % n),
            "ArrowUp" => self.chosen.update(|c| *c = (*c + n - 1) % n),
            "Enter" | "Tab" => {
                let pick = self.chosen.get_untracked().min(n - 1);
                self.insert(&offered[pick].username);
            }
            "Escape" => self.typing.set(None),
            _ => return false,
        }
        true
    }

    /// Whether the list shows. (A textarea may not carry `aria-expanded`: the list is tied
    /// to it by `aria-controls` and `aria-activedescendant`.)
    pub fn open(&self) -> bool {
        !self.offered().is_empty()
    }

    /// The id of the chosen option (for the field's `aria-activedescendant`).
    pub fn active(&self) -> Option<String> {
        self.open()
            .then(|| format!("mention-option-{}", self.chosen.get()))
    }
}

/// The list of names, under the composer's field.
#[component]
pub fn MentionList(
    /// The picker the composer made.
    picker: MentionPicker,
) -> impl IntoView {
    move || {
        let offered = picker.offered();
        (!offered.is_empty()).then(|| {
            let chosen = picker.chosen.get().min(offered.len() - 1);
            let options = offered
                .into_iter()
                .enumerate()
                .map(|(i, member)| {
                    let username = member.username.clone();
                    view! {
                        <li
                            id=format!("mention-option-{i}")
                            role="option"
                            aria-selected=(i == chosen).to_string()
                            on:mousedown=move |ev| {
                                // Keep the keyboard in the field.
                                ev.prevent_default();
                                picker.insert(&username);
                            }
                        >
                            <strong>{member.display_name}</strong>
                            " @"
                            {member.username}
                        </li>
                    }
                })
                .collect_view();
            view! {
                <ul
                    class="mention-list"
                    id="mention-list"
                    role="listbox"
                    aria-label="Mention someone"
                    data-testid="mention-list"
                >
                    {options}
                </ul>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::UserId;

    fn member(id: i64, username: &str, display_name: &str) -> Member {
        Member {
            user: UserId(id),
            username: username.into(),
            display_name: display_name.into(),
            online: false,
        }
    }

    #[test]
    fn candidates_match_username_or_display_name_and_leave_out_the_writer() {
        let members = [
            member(1, "ann", "Ann"),
            member(2, "Benedict", "Ben"),
            member(3, "bea", "Zoe"),
            member(4, "zed", "Bertha"),
        ];
        let names = |typed| {
            candidates(&members, typed, "ann")
                .into_iter()
                .map(|m| m.username)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("b"), ["bea", "Benedict", "zed"]);
        assert_eq!(names("BEN"), ["Benedict"]);
        assert_eq!(names("a"), Vec::<String>::new());
        assert_eq!(names("").len(), 3);
        let many: Vec<Member> = (0..20)
            .map(|i| member(i, &format!("u{i:02}"), "x"))
            .collect();
        assert_eq!(candidates(&many, "u", "ann").len(), MAX_SHOWN);
    }

    #[test]
    fn carets_count_in_utf16_units() {
        assert_eq!(byte_offset("ab", 1), 1);
        assert_eq!(byte_offset("é@b", 2), 3);
        assert_eq!(byte_offset("😀@b", 2), 4);
        assert_eq!(byte_offset("ab", 9), 2);
    }
}
