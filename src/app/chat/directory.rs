//! The public room directory: a search box, one page of rooms at a time, newest first, and a
//! "More rooms" button while the server has more.
//!
//! The server answers `list_rooms` in order and echoes each request's `query` and `after`, so
//! the page keeps only answers to the search on screen: an answer to a search the user has
//! since changed, or to a page already replaced, is dropped.

use leptos::prelude::*;
use leptos_router::components::A;

use super::Chat;
use crate::protocol::{ClientFrame, ConvId, MAX_ROOM_QUERY_CHARS, RoomListing};

/// How long the search box waits for typing to pause before asking the server, in ms.
const SEARCH_PAUSE_MS: u64 = 300;

/// What the directory shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomDirectory {
    /// The search the list answers ("" for every public room).
    pub query: String,
    /// The rooms shown, newest first; `None` until the first page arrives.
    pub rooms: Option<Vec<RoomListing>>,
    /// Where the next page starts, while there is one.
    pub next: Option<ConvId>,
    /// A page has been asked for and not answered yet.
    pub loading: bool,
}

/// The `query` a `list_rooms` for the search box's `text` carries: none for a blank box.
fn asked(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_owned())
}

impl Chat {
    /// Asks for the first page of public rooms whose name contains `query`.
    pub fn browse(&self, query: String) {
        let asked = asked(&query);
        self.directory.update(|d| {
            d.query = query;
            d.loading = true;
        });
        self.send(ClientFrame::ListRooms {
            query: asked,
            after: None,
            limit: None,
        });
    }

    /// Asks for the page after the ones shown, if there is one and it is not asked for yet.
    pub fn browse_more(&self) {
        let Some((query, after)) = self.directory.with_untracked(|d| {
            d.next
                .filter(|_| !d.loading)
                .map(|next| (d.query.clone(), next))
        }) else {
            return;
        };
        self.directory.update(|d| d.loading = true);
        self.send(ClientFrame::ListRooms {
            query: asked(&query),
            after: Some(after),
            limit: None,
        });
    }

    /// Takes in one `rooms` answer (see the module docs for which ones count).
    pub(super) fn take_rooms(
        &self,
        rooms: Vec<RoomListing>,
        query: Option<String>,
        after: Option<ConvId>,
        next: Option<ConvId>,
    ) {
        self.directory.update(|d| {
            // Compared as asked: a blank search is sent, and echoed, as none.
            if query != asked(&d.query) {
                return;
            }
            match (after, d.rooms.as_mut()) {
                (None, _) => d.rooms = Some(rooms),
                (Some(after), Some(shown)) if d.next == Some(after) => shown.extend(rooms),
                _ => return,
            }
            d.next = next;
            d.loading = false;
        });
    }
}

/// The public rooms, with a way to join each one the user is not in yet.
#[component]
pub(super) fn Directory() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let joined = move |id: ConvId| chat.conversations.with(|l| l.iter().any(|c| c.id == id));
    let search = RwSignal::new(chat.directory.with_untracked(|d| d.query.clone()));
    // Numbers keystrokes, so that only the last one's timer asks the server.
    let typed = StoredValue::new(0_u64);
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        search.set(text.clone());
        let stamp = typed.get_value() + 1;
        typed.set_value(stamp);
        set_timeout(
            move || {
                if typed.get_value() == stamp {
                    chat.browse(text);
                }
            },
            std::time::Duration::from_millis(SEARCH_PAUSE_MS),
        );
    };
    let more = move || chat.directory.with(|d| d.next.is_some());
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
            {move || match chat.directory.with(|d| d.rooms.clone()) {
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
                                            <span class="count">{format!("{} members", room.members)}</span>
                                            {move || {
                                                if joined(id) {
                                                    view! { <A href=format!("/c/{id}")>"Open"</A> }.into_any()
                                                } else {
                                                    view! {
                                                        <button
                                                            type="button"
                                                            aria-label=format!("Join {}", room.name)
                                                            on:click=move |_| {
                                                                chat.send(ClientFrame::JoinRoom { conv: id });
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
                    disabled=move || chat.directory.with(|d| d.loading)
                    on:click=move |_| chat.browse_more()
                >
                    "More rooms"
                </button>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(id: i64) -> RoomListing {
        RoomListing {
            id: ConvId(id),
            name: format!("room {id}"),
            members: 1,
        }
    }

    fn shown(chat: &Chat) -> Option<Vec<i64>> {
        chat.directory.with_untracked(|d| {
            d.rooms
                .as_ref()
                .map(|rooms| rooms.iter().map(|r| r.id.0).collect())
        })
    }

    #[test]
    fn answers_to_a_replaced_search_or_page_are_dropped() {
        // Signals live in a reactive owner's arena, as on a served page.
        Owner::new().with(|| {
            let chat = Chat::new();
            chat.browse("gen".into());
            // An answer to the search before (all rooms) arrives late: not shown.
            chat.take_rooms(vec![listing(1)], None, None, None);
            assert_eq!(shown(&chat), None);
            chat.take_rooms(
                vec![listing(9), listing(8)],
                Some("gen".into()),
                None,
                Some(ConvId(8)),
            );
            assert_eq!(shown(&chat), Some(vec![9, 8]));
            chat.browse_more();
            assert!(chat.directory.with_untracked(|d| d.loading));
            // A page that does not follow the one shown is not appended.
            chat.take_rooms(vec![listing(3)], Some("gen".into()), Some(ConvId(5)), None);
            assert_eq!(shown(&chat), Some(vec![9, 8]));
            chat.take_rooms(vec![listing(7)], Some("gen".into()), Some(ConvId(8)), None);
            assert_eq!(shown(&chat), Some(vec![9, 8, 7]));
            assert!(
                chat.directory
                    .with_untracked(|d| d.next.is_none() && !d.loading)
            );
        });
    }

    #[test]
    fn an_answer_to_a_blank_search_is_shown() {
        Owner::new().with(|| {
            let chat = Chat::new();
            chat.browse("  ".into());
            chat.take_rooms(vec![listing(2)], None, None, None);
            assert_eq!(shown(&chat), Some(vec![2]));
            assert!(!chat.directory.with_untracked(|d| d.loading));
        });
    }
}
