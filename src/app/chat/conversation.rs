//! One open conversation: the header with its name and members, then the message list, the
//! typing line and the composer.
//!
//! A component: depends on the model handle and the components it holds, never on the page.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{
    Chat,
    composer::{Composer, Typing},
    messages::MessageList,
    notifications::ConversationNotify,
    text,
    user_form::UserForm,
};
use crate::protocol::{ClientFrame, ConvId, ConvKind, ConvSummary, EventBody, Seq, UserId};

/// True once the component runs in the browser (effects never run on the server). What
/// depends on the viewer's clock or time zone waits for it, so hydration meets the HTML the
/// server sent.
fn mounted() -> ReadSignal<bool> {
    let (mounted, set_mounted) = signal(false);
    Effect::new(move |_| set_mounted.set(true));
    mounted
}

/// Opening a conversation puts the keyboard in its composer, on a screen wide enough for the
/// sidebar beside it (on a phone that would pop the keyboard over what one came to read).
/// Deferred a frame: the composer must be in the page, and enabled (see `screen.rs`).
fn focus_on_open() {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        request_animation_frame(|| {
            // The layout's own breakpoint: at most 40rem, one column (`main.css`).
            let narrow = window()
                .match_media("(max-width: 40rem)")
                .ok()
                .flatten()
                .is_some_and(|m| m.matches());
            if !narrow {
                super::message_actions::focus_composer();
            }
        });
    });
}

/// The open conversation `conv`.
#[component]
pub fn Conversation(
    /// The conversation shown.
    conv: ConvId,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    chat.send(ClientFrame::Members { conv });
    let mounted = mounted();
    focus_on_open();
    let summary = move || {
        chat.conversations()
            .with(|l| l.iter().find(|c| c.id == conv).cloned())
    };
    // What was unread when the conversation opened: the divider stays there while it is open.
    let span_of = move |s: &ConvSummary| {
        let held = chat.last_seq(conv);
        (s.read_seq, held.map_or(s.last_seq, |h| h.max(s.last_seq)))
    };
    let unread_after = RwSignal::new(
        chat.conversations()
            .with_untracked(|l| l.iter().find(|c| c.id == conv).map(span_of)),
    );
    Effect::new(move |_| {
        if unread_after.get_untracked().is_none()
            && let Some(s) = summary()
        {
            unread_after.set(Some(span_of(&s)));
        }
    });
    // Report reads: the newest seq on screen.
    Effect::new(move |_| {
        let last = chat
            .events()
            .with(|all| all.get(&conv).and_then(|l| l.keys().next_back().copied()));
        if let Some(last) = last
            && unread_after.get().is_some()
        {
            chat.mark_read(conv, last);
        }
    });
    let title = move || summary().map(|s| s.name).unwrap_or_default();
    let known = move || summary().is_some();
    view! {
        <header class="conv-header">
            <A href="/" attr:class="back" attr:aria-label="All conversations">
                "‹"
            </A>
            <h2 data-testid="conv-title">{title}</h2>
            <ConversationNotify conv />
            <Members conv />
        </header>
        <Show
            when=known
            fallback=move || {
                view! {
                    <p class="empty" data-testid="not-member">
                        {move || {
                            if chat.me().get().is_some() {
                                "This conversation does not exist, or you are not in it."
                            } else {
                                ""
                            }
                        }}
                    </p>
                }
            }
        >
            <MessageList conv unread_after mounted />
        </Show>
        <Announcer conv />
        <Typing conv />
        <Composer conv />
    }
}

/// Tells a screen reader each new message from someone else in the open conversation ("Ann:
/// the text"), once, as it arrives; history loading and the messages there on opening say
/// nothing. (The list itself is not a live region: it would read every page of history.) The
/// text is read from the model each time, so a message deleted meanwhile leaves nothing behind.
#[component]
fn Announcer(conv: ConvId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let seen = StoredValue::new(chat.last_seq(conv));
    let announced = RwSignal::new(None::<Seq>);
    Effect::new(move |_| {
        let newest = chat.events().with(|all| {
            all.get(&conv)
                .and_then(|list| list.last_key_value())
                .map(|(seq, e)| (*seq, e.from, matches!(e.body, EventBody::Message { .. })))
        });
        let Some((seq, from, message)) = newest else {
            return;
        };
        if seen.get_value().is_some_and(|s| seq <= s) {
            return;
        }
        seen.set_value(Some(seq));
        if message && Some(from) != chat.me().get_untracked() {
            announced.set(Some(seq));
        }
    });
    let said = move || {
        let seq = announced.get()?;
        let (from, body) = chat.events().with(|all| {
            match all
                .get(&conv)
                .and_then(|list| list.get(&seq))
                .map(|e| (e.from, &e.body))
            {
                Some((from, EventBody::Message { body, .. })) => Some((from, body.clone())),
                _ => None,
            }
        })?;
        Some(format!("{}: {body}", chat.name_of(conv, from)))
    };
    view! {
        <p class="visually-hidden" role="status" data-testid="announcer">
            {said}
        </p>
    }
}

/// The member count, and the list behind it; rooms can add people by username.
#[component]
fn Members(conv: ConvId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let is_room = move || {
        chat.conversations()
            .with(|l| l.iter().any(|c| c.id == conv && c.kind == ConvKind::Room))
    };
    let members = move || {
        chat.members()
            .with(|all| all.get(&conv).cloned().unwrap_or_default())
    };
    let count = move || members().len();
    let crowded = move || chat.crowded().with(|set| set.contains(&conv));
    view! {
        <details class="members">
            <summary data-testid="member-count">
                {move || match (count(), crowded()) {
                    (n, true) => format!("{n}+ members"),
                    (n, false) => text::members(n),
                }}
            </summary>
            <div class="members-panel">
                <ul>
                    <For
                        each=members
                        key=|m| (m.user, m.online)
                        children=move |m| {
                            let online = move || chat.online().with(|s| s.contains(&m.user));
                            view! {
                                <li>
                                    <span class="presence" class:online=online></span>
                                    {m.display_name.clone()}
                                    <span class="username">{format!("@{}", m.username)}</span>
                                    <BlockButton user=m.user username=m.username.clone() />
                                </li>
                            }
                        }
                    />
                </ul>
                <Show when=is_room>
                    <UserForm
                        id="invite"
                        label="Invite to room"
                        button="Invite"
                        frame=move |user| ClientFrame::Invite { conv, user }
                    />
                </Show>
            </div>
        </details>
    }
}

/// Block or unblock `user` (nothing for the user themself): the server's answer updates the
/// list on every device.
#[component]
fn BlockButton(user: UserId, username: String) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let blocked = move || chat.blocked().with(|b| b.contains(&user));
    let me = move || chat.me().get() == Some(user);
    view! {
        <Show when=move || !me()>
            <button
                type="button"
                class="secondary small"
                data-testid="block"
                aria-label={
                    let username = username.clone();
                    move || {
                        if blocked() {
                            format!("Unblock @{username}")
                        } else {
                            format!("Block @{username}")
                        }
                    }
                }
                on:click=move |_| {
                    if blocked() {
                        chat.send(ClientFrame::Unblock { user });
                    } else {
                        chat.send(ClientFrame::Block { user });
                    }
                }
            >
                {move || if blocked() { "Unblock" } else { "Block" }}
            </button>
        </Show>
    }
}
