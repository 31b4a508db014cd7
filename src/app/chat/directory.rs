//! The public room directory: a search box, one page of rooms at a time, newest first, and a
//! "More rooms" button while the server has more. Which answers count is the model's rule
//! (see `super::model::directory`).
//!
//! A component: depends on the model handle, never on the page. Its "Open" link is a plain
//! `<a>` (the router takes its clicks) rather than the router's `A`, which looks the router up
//! when it renders: this row re-renders when a join lands, possibly as the directory closes,
//! and the reported Join crash was `use_resolved_path outside a <Router>`.

use leptos::prelude::*;

use super::{Chat, text};
use crate::protocol::{ClientFrame, ConvId, MAX_ROOM_QUERY_CHARS};

/// How long the search box waits for typing to pause before asking the server, in ms.
const SEARCH_PAUSE_MS: u64 = 300;

/// The public rooms, with a way to join each one the user is not in yet.
#[component]
pub fn Directory() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let joined = move |id: ConvId| chat.conversations().with(|l| l.iter().any(|c| c.id == id));
    let search = RwSignal::new(chat.directory().with_untracked(|d| d.query.clone()));
    // Numbers keystrokes, so that only the last one's timer asks the server.
    let typed = StoredValue::new(0_u64);
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        search.set(text.clone());
        let stamp = typed.get_value() + 1;
        typed.set_value(stamp);
        // The directory may be gone when the timer fires (a join navigated to the room, and
        // the screen was rebuilt): then there is nothing to search for.
        set_timeout(
            move || {
                if typed.try_get_value() == Some(stamp) {
                    chat.browse(text);
                }
            },
            std::time::Duration::from_millis(SEARCH_PAUSE_MS),
        );
    };
    let more = move || chat.directory().with(|d| d.next.is_some());
    view! {
        <section class="directory" aria-label="Public rooms" data-testid="directory">
            <input
                type="search"
                aria-label="Search rooms"
                placeholder="search rooms"
                maxlength=MAX_ROOM_QUERY_CHARS
                prop:value=search
                on:input=on_input
            />
            {move || match chat.directory().with(|d| d.rooms.clone()) {
                None => view! { <p class="empty">"Loading rooms…"</p> }.into_any(),
                Some(rooms) if rooms.is_empty() => {
                    view! { <p class="empty">"No public rooms found."</p> }.into_any()
                }
                Some(rooms) => {
                    view! {
                        <ul>
                            {rooms
                                .into_iter()
                                .map(|room| {
                                    let id = room.id;
                                    view! {
                                        <li>
                                            <span class="name">{room.name.clone()}</span>
                                            <span class="count">{text::members(room.members as usize)}</span>
                                            {move || {
                                                if joined(id) {
                                                    view! { <a href=format!("/c/{id}")>"Open"</a> }.into_any()
                                                } else {
                                                    view! {
                                                        <button
                                                            type="button"
                                                            aria-label=format!("Join {}", room.name)
                                                            on:click=move |_| {
                                                                chat.start(ClientFrame::JoinRoom { conv: id });
                                                            }
                                                        >
                                                            "Join"
                                                        </button>
                                                    }
                                                        .into_any()
                                                }
                                            }}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
            <Show when=more>
                <button
                    type="button"
                    class="secondary"
                    disabled=move || chat.directory().with(|d| d.loading)
                    on:click=move |_| chat.browse_more()
                >
                    "More rooms"
                </button>
            </Show>
        </section>
    }
}
