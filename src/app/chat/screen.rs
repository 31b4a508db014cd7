//! The chat page: the sidebar and, when a conversation is open, the conversation.
//!
//! A page composes components; no component imports it. It depends on the components
//! ([`super::sidebar`], [`super::conversation`], [`super::splitter`]), the model handle [`Chat`]
//! and the first paint.

use leptos::prelude::*;
use leptos_router::{
    NavigateOptions,
    components::A,
    hooks::{use_navigate, use_params_map},
};

use super::{
    Chat, ChatSnapshot,
    conversation::Conversation,
    first_paint::first_paint,
    notifications::unread_in_title,
    sidebar::Sidebar,
    splitter::Splitter,
    switcher::{QuickSwitcher, SwitcherRequest},
};
use crate::protocol::ConvId;

/// The pane with no conversation open: what to do first when there is nothing yet, or a
/// pointer to the list.
#[component]
fn Welcome() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let first_run = move || chat.conversations().with(Vec::is_empty);
    view! {
        <Show
            when=first_run
            fallback=|| view! { <p class="empty">"Pick a conversation, or start one."</p> }
        >
            <FirstRun />
        </Show>
    }
}

/// What a new user reads before they have any conversation: the three ways to start one,
/// each pointing at its control in the sidebar.
#[component]
fn FirstRun() -> impl IntoView {
    view! {
        <div class="first-run" data-testid="first-run">
            <h2>"Welcome to switchboard"</h2>
            <p>"You are not in any conversation yet. Three ways to start:"</p>
            <ol>
                <li>
                    <label for="new-direct">"Message someone"</label>
                    ": type their username under “New message to” and press Start."
                </li>
                <li>
                    <label for="new-room">"Create a room"</label>
                    ": name it, choose public (anyone can find it) or private (invitation only), and press Create."
                </li>
                <li>
                    <strong>"Browse rooms"</strong>
                    ": see the public rooms and join one."
                </li>
            </ol>
            <p class="empty">"Search, mentions and unread counts appear here as you go."</p>
        </div>
    }
}

/// `/c/:id`.
#[component]
pub fn ConversationPage() -> impl IntoView {
    let params = use_params_map();
    let open = Signal::derive(move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse().ok())
            .map(ConvId)
    });
    view! { <ChatScreen open /> }
}

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
    unread_in_title(chat);
    provide_context(SwitcherRequest::new());
    // What the person just started opens (the model says which; the router navigates).
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(conv) = chat.opened.get() {
            chat.opened.set(None);
            navigate(&format!("/c/{conv}"), NavigateOptions::default());
        }
    });
    // Until the page runs, every control is disabled: what was typed or clicked into the
    // server's first paint would be lost to hydration (no handler was listening yet).
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    let initial = open.get_untracked();
    // Once the page runs (after hydration), the socket keeps the model current: later screens
    // need no first paint.
    let paint = Resource::new_blocking(
        || (),
        move |()| async move {
            if chat.me().with_untracked(Option::is_some) && !cfg!(feature = "ssr") {
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
                if chat.me().with_untracked(Option::is_none) {
                    return view! {
                        <p class="empty" data-testid="signed-out">
                            <A href="/login">"Log in"</A>
                            " to see this conversation."
                        </p>
                    }
                        .into_any();
                }
                let class = move || if open.get().is_some() { "chat has-open" } else { "chat" };
                let layout = NodeRef::new();
                view! {
                    <div class=class node_ref=layout>
                        <h1 class="visually-hidden">"Chat"</h1>
                        <fieldset class="live-gate" disabled=move || !live.get()>
                            <Sidebar open />
                            <section class="pane" aria-label="Conversation">
                                {move || match open.get() {
                                    Some(conv) => view! { <Conversation conv /> }.into_any(),
                                    None => view! { <Welcome /> }.into_any(),
                                }}
                            </section>
                        </fieldset>
                        <Splitter layout />
                        <QuickSwitcher />
                    </div>
                }
                    .into_any()
            })}
        </Suspense>
    }
}
