//! The quick switcher: Ctrl+K (⌘K on a Mac), or the "Jump to…" button, opens a modal dialog
//! whose field filters the user's conversations and the people the page knows; arrows choose,
//! Enter goes (opening a direct conversation with a person who has none yet), Esc closes.
//!
//! A component: depends on the model handle ([`Chat::jumps`]) and the router, never on the page.

use leptos::{ev, html, prelude::*};
use leptos_router::{NavigateOptions, hooks::use_navigate};

use super::{Chat, Jump, Part, avatar::Avatar};
use crate::protocol::{ClientFrame, ConvKind};

impl Chat {
    /// What the quick switcher offers for `query`, tracked.
    pub fn jumps(&self, query: &str) -> Vec<Jump> {
        for part in [Part::Me, Part::Conversations, Part::Members] {
            self.parts[part as usize].track();
        }
        self.model.with_value(|m| m.jumps(query))
    }
}

/// Asks the chat screen's [`QuickSwitcher`] to open (a counter: each change is one request).
/// The chat screen provides it as context; the button lives in the sidebar, the dialog beside
/// it (inside a hidden sidebar, as on a phone with a conversation open, it could not show).
#[derive(Clone, Copy)]
pub struct SwitcherRequest(RwSignal<u64>);

impl SwitcherRequest {
    /// A request no one has made yet.
    pub fn new() -> Self {
        Self(RwSignal::new(0))
    }

    /// Opens the switcher.
    pub fn open(&self) {
        self.0.update(|n| *n += 1);
    }
}

impl Default for SwitcherRequest {
    fn default() -> Self {
        Self::new()
    }
}

/// The sidebar's "Jump to…" button.
#[component]
pub fn JumpButton() -> impl IntoView {
    let request = expect_context::<SwitcherRequest>();
    view! {
        <button
            type="button"
            class="secondary jump-button"
            aria-keyshortcuts="Control+K Meta+K"
            on:click=move |_| request.open()
        >
            "Jump to…"
            <kbd aria-hidden="true">"Ctrl K"</kbd>
        </button>
    }
}

/// The dialog that the [`JumpButton`] or Ctrl/⌘+K anywhere on the chat screen opens.
#[component]
pub fn QuickSwitcher() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let request = expect_context::<SwitcherRequest>();
    let dialog = NodeRef::<html::Dialog>::new();
    let query = RwSignal::new(String::new());
    let chosen = RwSignal::new(0usize);
    let offered = Memo::new(move |_| query.with(|q| chat.jumps(q)));
    let show = move || {
        if let Some(d) = dialog.get_untracked()
            && !d.open()
        {
            query.set(String::new());
            chosen.set(0);
            // Modal: the rest of the page is inert until it closes, and Esc closes it.
            let _ = d.show_modal();
        }
    };
    let close = move || {
        if let Some(d) = dialog.get_untracked() {
            d.close();
        }
    };
    let navigate = use_navigate();
    let go = move |jump: Jump| {
        close();
        match jump {
            Jump::Conversation { conv, .. } => {
                navigate(&format!("/c/{conv}"), NavigateOptions::default());
            }
            // Opens once the server has it (the chat screen navigates).
            Jump::Person { user, .. } => chat.start(ClientFrame::OpenDirect { user }),
        }
    };
    Effect::new(move |before: Option<u64>| {
        let now = request.0.get();
        if before.is_some_and(|b| b != now) {
            show();
        }
        now
    });
    let handle = window_event_listener(ev::keydown, move |e| {
        let key = e.key();
        if (e.ctrl_key() || e.meta_key()) && !e.alt_key() && key.eq_ignore_ascii_case("k") {
            e.prevent_default();
            request.open();
        }
    });
    on_cleanup(move || handle.remove());
    let go_key = go.clone();
    let on_key = move |e: ev::KeyboardEvent| {
        let n = offered.with_untracked(Vec::len);
        match e.key().as_str() {
            "ArrowDown" if n > 0 => {
                e.prevent_default();
                chosen.update(|c| *c = (*c + 1) % n);
            }
            "ArrowUp" if n > 0 => {
                e.prevent_default();
                chosen.update(|c| *c = (*c + n - 1) % n);
            }
            "Enter" => {
                e.prevent_default();
                let pick = offered.with_untracked(|o| o.get(chosen.get_untracked()).cloned());
                if let Some(jump) = pick {
                    go_key(jump);
                }
            }
            _ => {}
        }
    };
    let active = move || {
        let n = offered.with(Vec::len);
        (n > 0).then(|| format!("jump-option-{}", chosen.get().min(n - 1)))
    };
    view! {
        <dialog
            node_ref=dialog
            class="switcher"
            aria-label="Jump to a conversation or person"
            data-testid="switcher"
            on:click=move |e| {
                // A click on the backdrop (the dialog element itself, outside its box) closes it.
                if e.target().is_some() && e.target() == e.current_target() {
                    close();
                }
            }
        >
            <div class="switcher-box">
                <input
                    type="text"
                    role="combobox"
                    aria-label="Jump to"
                    aria-expanded="true"
                    aria-controls="jump-list"
                    aria-autocomplete="list"
                    aria-activedescendant=active
                    placeholder="Conversation or person"
                    autocomplete="off"
                    prop:value=move || query.get()
                    on:input=move |e| {
                        query.set(event_target_value(&e));
                        chosen.set(0);
                    }
                    on:keydown=on_key
                />
                <ul id="jump-list" role="listbox" aria-label="Matches">
                    {move || {
                        let list = offered.get();
                        if list.is_empty() {
                            return view! { <li class="empty">"Nothing matches"</li> }.into_any();
                        }
                        let pick = chosen.get().min(list.len() - 1);
                        list.into_iter()
                            .enumerate()
                            .map(|(i, jump)| {
                                let go = go.clone();
                                let label = jump_label(&jump);
                                view! {
                                    <li
                                        id=format!("jump-option-{i}")
                                        role="option"
                                        aria-selected=(i == pick).to_string()
                                        on:mousedown=move |e| {
                                            // Keep the keyboard in the field until it goes.
                                            e.prevent_default();
                                            go(jump.clone());
                                        }
                                    >
                                        {label}
                                    </li>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }}
                </ul>
                <p class="switcher-help">"↑↓ to choose · Enter to go · Esc to close"</p>
            </div>
        </dialog>
    }
}

/// One match as the list shows it.
fn jump_label(jump: &Jump) -> AnyView {
    match jump.clone() {
        Jump::Conversation {
            name,
            kind: ConvKind::Room,
            ..
        } => view! { <span class="jump-room">"# " {name}</span> }.into_any(),
        Jump::Conversation { name, .. } => {
            view! { <span class="jump-direct">{name}</span> }.into_any()
        }
        Jump::Person {
            user,
            username,
            display_name,
        } => view! {
            <Avatar user name=display_name.clone() />
            <span class="jump-person">
                "Message " <strong>{display_name}</strong> " @" {username}
            </span>
        }
        .into_any(),
    }
}
