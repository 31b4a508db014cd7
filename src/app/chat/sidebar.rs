//! The chat screen's frame and its sidebar: conversations with unread badges and presence, new
//! direct message, new room, and the public room directory.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{
    Chat,
    conversation::Conversation,
    directory::Directory,
    first_paint::{ChatSnapshot, first_paint},
};
use crate::{
    auth::find_user::find_user,
    protocol::{ClientFrame, ConvId, ConvKind, ConvSummary, EventBody, Seq, UserId},
};

/// The signed-in chat screen: sidebar plus, when a conversation is open, the conversation.
///
/// The server renders it with the user's conversations and the open conversation's latest
/// messages; in the browser that same data (serialised into the page) seeds the model, and the
/// socket continues from there. On a phone-sized screen only one of the two columns shows:
/// the list at `/`, the conversation (with a way back) at `/c/<id>`.
#[component]
pub fn ChatScreen(
    /// The conversation to show, if any.
    #[prop(into)]
    open: Signal<Option<ConvId>>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let initial = open.get_untracked();
    // Once the page runs (after hydration), the socket keeps the model current: later screens
    // need no first paint.
    let paint = Resource::new_blocking(
        || (),
        move |()| async move {
            if chat.me.get_untracked().is_some() && !cfg!(feature = "ssr") {
                return Ok(None::<ChatSnapshot>);
            }
            first_paint(initial.map(|c| c.0)).await
        },
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                if let Ok(Some(seed)) = paint.await {
                    chat.seed(&seed);
                }
                if chat.me.get_untracked().is_none() {
                    return view! {
                        <p class="empty" data-testid="signed-out">
                            <A href="/login">"Log in"</A>
                            " to see this conversation."
                        </p>
                    }
                        .into_any();
                }
                let class = move || if open.get().is_some() { "chat has-open" } else { "chat" };
                view! {
                    <div class=class>
                        <Sidebar open />
                        <section class="pane" aria-label="Conversation">
                            {move || match open.get() {
                                Some(conv) => view! { <Conversation conv /> }.into_any(),
                                None => {
                                    view! {
                                        <p class="empty">"Pick a conversation, or start one."</p>
                                    }
                                        .into_any()
                                }
                            }}
                        </section>
                    </div>
                }
                    .into_any()
            })}
        </Suspense>
    }
}

/// How many messages from others in `c` are newer than what the user has read.
fn unread_in(chat: Chat, c: &ConvSummary) -> usize {
    let me = chat.me.get();
    chat.events.with(|events| {
        events.get(&c.id).map_or(0, |list| {
            list.range(Seq(c.read_seq.0 + 1)..)
                .filter(|(_, e)| matches!(e.body, EventBody::Message { .. }) && Some(e.from) != me)
                .count()
        })
    })
}

#[component]
fn Sidebar(open: Signal<Option<ConvId>>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let browsing = RwSignal::new(false);
    view! {
        <nav class="sidebar" aria-label="Conversations">
            <NewDirect />
            <NewRoom />
            <button
                type="button"
                class="secondary"
                aria-expanded=move || browsing.get().to_string()
                on:click=move |_| {
                    let now = !browsing.get_untracked();
                    browsing.set(now);
                    if now {
                        chat.browse(chat.directory.with_untracked(|d| d.query.clone()));
                    }
                }
            >
                "Browse rooms"
            </button>
            <Show when=move || browsing.get()>
                <Directory />
            </Show>
            <p class="field-error" role="alert" data-testid="notice">
                {move || chat.notice.get()}
            </p>
            <h2 class="sidebar-heading">"Conversations"</h2>
            <ul class="conversations" data-testid="conversations">
                <For
                    each=move || chat.conversations.get()
                    key=|c| (c.id, c.name.clone())
                    children=move |c| view! { <ConversationLink summary=c open /> }
                />
            </ul>
        </nav>
    }
}

#[component]
fn ConversationLink(summary: ConvSummary, open: Signal<Option<ConvId>>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let id = summary.id;
    let count = move || {
        chat.conversations
            .with(|list| list.iter().find(|x| x.id == id).cloned())
            .map_or(0, |c| unread_in(chat, &c))
    };
    let (kind, peer) = match summary.kind {
        ConvKind::Direct => ("direct", summary.peer),
        ConvKind::Room => ("room", None),
    };
    let presence = peer.map(|peer| {
        let online = move || chat.online.with(|set| set.contains(&peer));
        view! {
            <span
                class="presence"
                class:online=online
                role="img"
                aria-label=move || if online() { "online" } else { "offline" }
            ></span>
        }
    });
    view! {
        <li class=kind>
            <A
                href=format!("/c/{id}")
                attr:aria-current=move || (open.get() == Some(id)).then_some("page")
            >
                {presence}
                <span class="name">{summary.name.clone()}</span>
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

/// "New message": start a direct conversation by username.
#[component]
fn NewDirect() -> impl IntoView {
    let chat = expect_context::<Chat>();
    view! {
        <UserForm
            id="new-direct"
            label="New message to"
            button="Start"
            found=move |user| chat.send(ClientFrame::OpenDirect { user })
        />
    }
}

/// A form that looks a username up and hands the user it names to `found`.
#[component]
pub(super) fn UserForm(
    id: &'static str,
    label: &'static str,
    button: &'static str,
    found: impl Fn(UserId) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let lookup = Action::new(move |name: &String| {
        let name = name.clone();
        async move {
            match find_user(name.clone()).await {
                Ok(Some(account)) => {
                    found(account.id);
                    problem.set(None);
                    username.set(String::new());
                }
                Ok(None) => problem.set(Some(format!("No user named {name}"))),
                Err(err) => problem.set(Some(err.to_string())),
            }
        }
    });
    view! {
        <form
            class=id
            on:submit=move |ev| {
                ev.prevent_default();
                lookup.dispatch(username.get_untracked());
            }
        >
            <label for=id>{label}</label>
            <input id=id placeholder="username" bind:value=username autocomplete="off" required />
            <button type="submit">{button}</button>
            <p class="field-error" role="alert">
                {move || problem.get()}
            </p>
        </form>
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
                chat.send(ClientFrame::CreateRoom {
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
