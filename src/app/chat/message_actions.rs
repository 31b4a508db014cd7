//! One message in the list, and what can be done to it: reply, react (the palette or any one
//! emoji), edit in place and delete (after a confirmation); its reactions as toggles that name
//! who reacted, its edit history behind "(edited)", and the quote of the message it answers,
//! which scrolls the list to that message.
//!
//! The actions show on hover or keyboard focus (desktop), and on a tap or long-press of the
//! message (touch screens, see `style/main.css`); every one is a labelled button in the tab
//! order. What they do goes through the model handle ([`Chat`]) as frames; the result comes back
//! as events in the conversation's seq, a refusal as the notice.
//!
//! A component: depends on the model handle and [`super::markdown`], never on the page.

use leptos::{html, prelude::*, wasm_bindgen::JsCast};

use super::{Chat, MessageState, avatar::Avatar, markdown::MessageText};
use crate::protocol::{ConvId, Event, MAX_BODY_CHARS, REACTION_PALETTE, Seq, UserId, is_reaction};

/// How much of the quoted message a reply or the composer shows, in characters.
const SNIPPET_CHARS: usize = 80;

/// The first [`SNIPPET_CHARS`] of what a message shows, as plain text on one line (its
/// Markdown marks dropped), or "message deleted".
pub fn snippet(state: &MessageState) -> String {
    if state.deleted {
        return "message deleted".to_string();
    }
    let line = super::markdown::plain(&state.text);
    match line.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// Puts the keyboard in the composer (after replying, or leaving the editor).
pub fn focus_composer() {
    if let Some(el) = document()
        .get_element_by_id("composer")
        .and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// Whether a click landed on the message itself rather than on a control inside it.
fn on_message_itself(ev: &leptos::ev::MouseEvent) -> bool {
    ev.target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
        .is_some_and(|el| {
            el.closest("button, a, input, textarea, [role=dialog]")
                .ok()
                .flatten()
                .is_none()
        })
}

/// A message of the list, with its actions.
#[component]
pub fn MessageLine(
    /// Its conversation.
    conv: ConvId,
    /// The message event.
    event: Event,
    /// Whether it shares the header of the message above.
    continued: bool,
    /// Its current state.
    state: MessageState,
    /// The state of the message it answers, if the page holds it.
    quoted: Option<MessageState>,
    /// Its time, once the page runs in the browser.
    time: Signal<String>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let (seq, sender) = (event.seq, event.from);
    let from = chat.name_of(conv, sender);
    let mine = Some(event.from) == chat.me().get_untracked();
    // Touch screens: a tap or long-press opens the actions.
    let open = RwSignal::new(false);
    let editing = move || chat.acting.editing.get() == Some((conv, seq));
    let class = move || {
        let mut class = String::from("message");
        for (on, name) in [
            (mine, " mine"),
            (continued, " continued"),
            (open.get(), " open"),
        ] {
            if on {
                class.push_str(name);
            }
        }
        class
    };
    let reply = state.reply_to.map(|to| {
        let quoted = quoted
            .as_ref()
            .map_or("an earlier message".to_string(), snippet);
        view! {
            <button
                type="button"
                class="reply-to"
                data-reply-to=to.0
                title="Go to the message this answers"
                on:click=move |_| chat.acting.jump.set(Some((conv, to)))
            >
                {quoted}
            </button>
        }
    });
    let body = {
        let state = state.clone();
        let event = event.clone();
        move || {
            if chat.collapsed(&event) {
                view! {
                    <p class="body collapsed" data-testid="collapsed">
                        "Message from a blocked user — "
                        <button type="button" class="link" on:click=move |_| chat.reveal(conv, seq)>
                            "show"
                        </button>
                    </p>
                }
                .into_any()
            } else if editing() {
                view! { <Editor conv seq text=state.text.clone() /> }.into_any()
            } else {
                let body = state.text.clone();
                let edited = state
                    .edited
                    .then(|| view! { <EditHistory versions=state.versions.clone() /> });
                let me = chat.username();
                view! {
                    <div class="body">
                        <MessageText body me />
                        {edited}
                    </div>
                }
                .into_any()
            }
        }
    };
    view! {
        <li
            class=class
            data-testid="message"
            data-seq=seq.0
            on:click=move |ev| {
                if on_message_itself(&ev) {
                    open.update(|o| *o = !*o);
                }
            }
            on:contextmenu=move |ev| {
                if on_message_itself(&ev) {
                    ev.prevent_default();
                    open.set(true);
                }
            }
        >
            <div class="meta">
                <Avatar user=sender name=Signal::derive(move || chat.display_name(conv, sender)) />
                <span class="from">{move || chat.name_of(conv, sender)}</span>
                " "
                <time class="at">{time}</time>
            </div>
            {reply}
            {body}
            <Reactions conv seq reactions=state.reactions.clone() />
            <Actions conv seq from />
        </li>
    }
}

/// The toolbar of one message, with its reaction palette and delete confirmation.
#[component]
fn Actions(conv: ConvId, seq: Seq, from: String) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let picking = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let may = move || chat.may(conv, seq);
    let reply = move |_| {
        chat.acting.replying.set(Some((conv, seq)));
        focus_composer();
    };
    let label = format!("Actions for the message from {from}");
    view! {
        <div class="actions" role="toolbar" aria-label=label>
            <button type="button" on:click=reply>
                "Reply"
            </button>
            <button
                type="button"
                aria-expanded=move || picking.get().to_string()
                on:click=move |_| picking.update(|p| *p = !*p)
            >
                "React"
            </button>
            <Show when=move || may().0>
                <button
                    type="button"
                    on:click=move |_| chat.acting.editing.set(Some((conv, seq)))
                >
                    "Edit"
                </button>
            </Show>
            <Show when=move || may().1>
                <button type="button" on:click=move |_| confirming.set(true)>
                    "Delete"
                </button>
            </Show>
        </div>
        <Show when=move || picking.get()>
            <Palette conv seq done=move || picking.set(false) />
        </Show>
        <Show when=move || confirming.get()>
            <div
                class="confirm"
                role="dialog"
                aria-label="Delete this message?"
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        confirming.set(false);
                    }
                }
            >
                <span>"Delete this message for everyone?"</span>
                <button
                    type="button"
                    class="danger"
                    autofocus
                    on:click=move |_| {
                        confirming.set(false);
                        chat.delete(conv, seq);
                    }
                >
                    "Yes, delete"
                </button>
                <button type="button" on:click=move |_| confirming.set(false)>
                    "Cancel"
                </button>
            </div>
        </Show>
    }
}

/// The reactions offered: the palette, and a field for any one emoji.
#[component]
fn Palette(
    conv: ConvId,
    seq: Seq,
    done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let other = RwSignal::new(String::new());
    let wrong = RwSignal::new(false);
    let react = move |emoji: String| {
        chat.toggle_reaction(conv, seq, emoji);
        done();
    };
    let add_other = move || {
        let emoji = other.get_untracked().trim().to_string();
        if is_reaction(&emoji) {
            react(emoji);
        } else {
            wrong.set(true);
        }
    };
    view! {
        <div
            class="palette"
            role="group"
            aria-label="Reactions"
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    done();
                }
            }
        >
            {REACTION_PALETTE
                .iter()
                .map(|emoji| {
                    view! {
                        <button
                            type="button"
                            aria-label=format!("React with {emoji}")
                            on:click=move |_| react(emoji.to_string())
                        >
                            {*emoji}
                        </button>
                    }
                })
                .collect_view()}
            <input
                type="text"
                aria-label="Any emoji"
                placeholder="any emoji"
                size="6"
                bind:value=other
                on:input=move |_| wrong.set(false)
                on:keydown=move |ev| {
                    if ev.key() == "Enter" {
                        ev.prevent_default();
                        add_other();
                    }
                }
            />
            <button type="button" on:click=move |_| add_other()>
                "Add"
            </button>
            <Show when=move || wrong.get()>
                <span class="field-error" role="alert">
                    "One emoji, please"
                </span>
            </Show>
        </div>
    }
}

/// The inline editor that replaces a message's body: Enter saves, Shift+Enter is a new line,
/// Esc cancels.
#[component]
fn Editor(conv: ConvId, seq: Seq, text: String) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let draft = RwSignal::new(text.clone());
    let field = NodeRef::<html::Textarea>::new();
    Effect::new(move |_| {
        if let Some(el) = field.get() {
            let _ = el.focus();
            let end = el.value().len() as u32;
            let _ = el.set_selection_range(end, end);
        }
    });
    let close = move || {
        chat.acting.editing.set(None);
        focus_composer();
    };
    let save = move || {
        let body = draft.get_untracked();
        let count = body.chars().count();
        if body.trim().is_empty() || count > MAX_BODY_CHARS {
            return;
        }
        if body != text {
            chat.edit(conv, seq, body);
        }
        close();
    };
    let save = StoredValue::new(save);
    view! {
        <div class="editor">
            <textarea
                node_ref=field
                rows="2"
                aria-label="Edit message"
                bind:value=draft
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        save.with_value(|s| s());
                    } else if ev.key() == "Escape" {
                        ev.prevent_default();
                        close();
                    }
                }
            ></textarea>
            <span class="hint">"Enter saves · Esc cancels"</span>
            <button type="button" on:click=move |_| save.with_value(|s| s())>
                "Save"
            </button>
            <button type="button" on:click=move |_| close()>
                "Cancel"
            </button>
        </div>
    }
}

/// "(edited)", which opens the texts the message had, oldest first.
#[component]
fn EditHistory(versions: Vec<(Seq, String)>) -> impl IntoView {
    let shown = RwSignal::new(false);
    view! {
        <button
            type="button"
            class="edited"
            title="Show the edit history"
            aria-expanded=move || shown.get().to_string()
            on:click=move |_| shown.update(|s| *s = !*s)
        >
            "(edited)"
        </button>
        <Show when=move || shown.get()>
            <ol class="versions" aria-label="Edit history" data-testid="edit-history">
                {versions.iter().map(|(_, text)| view! { <li>{text.clone()}</li> }).collect_view()}
            </ol>
        </Show>
    }
}

/// A message's reactions: one toggle per emoji, pressed when the user is among those who
/// reacted, titled with their names.
#[component]
fn Reactions(
    conv: ConvId,
    seq: Seq,
    reactions: std::collections::BTreeMap<String, std::collections::BTreeSet<UserId>>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    if reactions.is_empty() {
        return None;
    }
    let me = chat.me().get_untracked();
    let chips = reactions
        .into_iter()
        .map(|(emoji, who)| {
            let names = who
                .iter()
                .map(|u| chat.name_of(conv, *u))
                .collect::<Vec<_>>()
                .join(", ");
            let pressed = me.is_some_and(|me| who.contains(&me));
            let count = who.len();
            let toggle = emoji.clone();
            view! {
                <button
                    type="button"
                    class="reaction"
                    aria-pressed=pressed.to_string()
                    aria-label=format!("{emoji} {count}: {names}")
                    title=names.clone()
                    on:click=move |_| chat.toggle_reaction(conv, seq, toggle.clone())
                >
                    {format!("{emoji} {count}")}
                </button>
            }
        })
        .collect_view();
    Some(view! {
        <p class="reactions" data-testid="reactions">
            {chips}
        </p>
    })
}
