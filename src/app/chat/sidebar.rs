//! The chat screen's sidebar: the message search (whose results, while open, take the place of
//! the rest), room invitations to accept or decline, conversations (rooms and direct messages
//! apart, most recent first) with unread badges, avatars and presence, new direct message, new
//! room, and the public room directory.
//!
//! A component: depends on the model handle and the components it holds, never on the page.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{
    Chat, ChatModel, Part, Sections,
    avatar::Avatar,
    directory::Directory,
    notifications::NotificationSettings,
    search::{SearchBox, SearchResults},
    switcher::JumpButton,
    user_form::UserForm,
};
use crate::protocol::{ClientFrame, ConvId, ConvKind, ConvSummary};

/// The conversation list and the ways to start or find one; `open` is highlighted.
#[component]
pub fn Sidebar(
    /// The conversation shown beside it, if any.
    open: Signal<Option<ConvId>>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let browsing = RwSignal::new(false);
    let searching = move || chat.search().with(|s| s.is_open());
    view! {
        <nav class="sidebar" id="sidebar" aria-label="Conversations">
            <JumpButton />
            <SearchBox />
            <Show when=move || !searching() fallback=|| view! { <SearchResults /> }>
            <UserForm
                id="new-direct"
                label="New message to"
                button="Start"
                frame=|user| ClientFrame::OpenDirect { user }
            />
            <NewRoom />
            <button
                type="button"
                class="secondary"
                aria-expanded=move || browsing.get().to_string()
                on:click=move |_| {
                    let now = !browsing.get_untracked();
                    browsing.set(now);
                    if now {
                        chat.browse(chat.directory().with_untracked(|d| d.query.clone()));
                    }
                }
            >
                "Browse rooms"
            </button>
            <Show when=move || browsing.get()>
                <Directory />
            </Show>
            <p class="field-error" role="alert" data-testid="notice">
                {move || chat.notice().get()}
            </p>
            <Invitations />
            <NotificationSettings />
            <Show when=move || chat.conversations().with(Vec::is_empty)>
                <p class="empty first-run-hint">
                    "No conversations yet: message someone, create a room or browse the public ones above."
                </p>
            </Show>
            <div class="sections" data-testid="conversations">
                <Section title="Rooms" testid="rooms" list=move || chat.sections().rooms open />
                <Section
                    title="Direct messages"
                    testid="direct"
                    list=move || chat.sections().direct
                    open
                />
            </div>
            </Show>
        </nav>
    }
}

/// One section of the conversation list (hidden while empty), collapsible by its heading.
#[component]
fn Section(
    /// Its heading.
    title: &'static str,
    /// Its `data-testid`.
    testid: &'static str,
    /// Its conversations, in order.
    list: impl Fn() -> Vec<ConvSummary> + Send + Sync + Copy + 'static,
    /// The open conversation.
    open: Signal<Option<ConvId>>,
) -> impl IntoView {
    view! {
        <Show when=move || !list().is_empty()>
            <details class="section" open>
                <summary>
                    <h2 class="sidebar-heading">{title}</h2>
                </summary>
                <ul class="conversations" data-testid=testid>
                    <For
                        each=list
                        key=|c| (c.id, c.name.clone())
                        children=move |c| view! { <ConversationLink summary=c open /> }
                    />
                </ul>
            </details>
        </Show>
    }
}

impl Chat {
    /// Rooms and direct conversations, each most recently active first.
    pub fn sections(&self) -> Sections {
        self.parts[Part::Conversations as usize].track();
        self.model.with_value(ChatModel::sections)
    }
}

#[component]
fn ConversationLink(summary: ConvSummary, open: Signal<Option<ConvId>>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let id = summary.id;
    let count = move || chat.unread(id);
    let muted = move || chat.notify_settings(id).muted;
    let mentions = move || chat.unread_mentions(id);
    let (kind, peer) = match summary.kind {
        ConvKind::Direct => ("direct", summary.peer),
        ConvKind::Room if summary.public => ("room", None),
        ConvKind::Room => ("room private", None),
    };
    let lock = (summary.kind == ConvKind::Room && !summary.public).then(|| {
        view! {
            <svg class="lock" viewBox="0 0 16 16" role="img" aria-label="private room">
                <path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z" />
            </svg>
        }
    });
    let name = summary.name.clone();
    let presence = peer.map(|peer| {
        let online = move || chat.online().with(|set| set.contains(&peer));
        view! {
            <span class="person">
                <Avatar user=peer name=name.clone() />
                <span
                    class="presence"
                    class:online=online
                    role="img"
                    aria-label=move || if online() { "online" } else { "offline" }
                ></span>
            </span>
        }
    });
    view! {
        <li class=kind class:muted=muted>
            <A
                href=format!("/c/{id}")
                attr:aria-current=move || (open.get() == Some(id)).then_some("page")
            >
                {presence}
                {lock}
                <span class="name">{summary.name.clone()}</span>
                <Show when=muted>
                    <span class="muted-mark" role="img" aria-label="muted">
                        "🔕"
                    </span>
                </Show>
                {move || {
                    let n = mentions();
                    (n > 0)
                        .then(|| {
                            let label = if n == 1 {
                                "1 mention".to_string()
                            } else {
                                format!("{n} mentions")
                            };
                            view! {
                                <span class="badge mention" aria-label=label data-testid="mentions">
                                    "@"
                                    {n}
                                </span>
                            }
                        })
                }}
                {move || {
                    let n = count();
                    (n > 0)
                        .then(|| {
                            view! {
                                <span class="badge" aria-label="unread">
                                    {n}
                                </span>
                            }
                        })
                }}
            </A>
        </li>
    }
}

/// "New room".
#[component]
fn NewRoom() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let name = RwSignal::new(String::new());
    let public = RwSignal::new(true);
    view! {
        <form
            class="new-room"
            on:submit=move |ev| {
                ev.prevent_default();
                chat.start(ClientFrame::CreateRoom {
                    name: name.get_untracked(),
                    public: public.get_untracked(),
                });
                name.set(String::new());
            }
        >
            <label for="new-room">"New room"</label>
            <input id="new-room" placeholder="room name" bind:value=name maxlength=64 required />
            <label class="check">
                <input type="checkbox" bind:checked=public />
                "public"
            </label>
            <button type="submit">"Create"</button>
        </form>
    }
}

/// Room invitations waiting for an answer, each with Accept and Decline.
#[component]
fn Invitations() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let any = move || chat.invitations().with(|l| !l.is_empty());
    view! {
        <Show when=any>
            <h2 class="sidebar-heading">"Invitations"</h2>
            <ul class="invitations" data-testid="invitations">
                <For
                    each=move || chat.invitations().get()
                    key=|i| i.conv
                    children=move |i| {
                        let conv = i.conv;
                        view! {
                            <li data-testid="invitation">
                                <span class="name">{i.name.clone()}</span>
                                <span class="from">{format!(" from @{}", i.from_name)}</span>
                                <button
                                    type="button"
                                    on:click=move |_| chat.start(ClientFrame::Accept { conv })
                                >
                                    "Accept"
                                </button>
                                <button
                                    type="button"
                                    class="secondary"
                                    on:click=move |_| chat.send(ClientFrame::Decline { conv })
                                >
                                    "Decline"
                                </button>
                            </li>
                        }
                    }
                />
            </ul>
        </Show>
    }
}
