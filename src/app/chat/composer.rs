//! Writing in one conversation: the composer (draft kept per conversation, Enter sends,
//! typing notices, "replying to …" with a cancel, Up in an empty composer edits the user's last
//! message, `@` offers the members to mention: [`super::mention_picker`]) and the line that says
//! who else is typing.
//!
//! A component: depends on the model handle, never on the page.

use leptos::{html, prelude::*};

use super::{
    Chat,
    mention_picker::{MentionList, MentionPicker},
    message_actions::{focus_composer, snippet},
    message_states,
};
use crate::protocol::{ConvId, MAX_BODY_CHARS};

/// "… is typing", while someone is.
#[component]
pub fn Typing(
    /// The conversation.
    conv: ConvId,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let typing = move || {
        chat.typing()
            .with(|t| t.get(&conv).map(|(user, _)| *user))
            .map(|user| format!("{} is typing…", chat.name_of(conv, user)))
    };
    view! {
        <p class="typing" data-testid="typing" aria-live="polite">
            {typing}
        </p>
    }
}

/// The message box of `conv`.
#[component]
pub fn Composer(
    /// The conversation written in.
    conv: ConvId,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    // The draft survives switching conversations (each composer starts from its own).
    let draft = RwSignal::new(
        chat.drafts
            .with_value(|d| d.get(&conv).cloned().unwrap_or_default()),
    );
    Effect::new(move |_| {
        let text = draft.get();
        chat.drafts.update_value(|d| {
            if text.is_empty() {
                d.remove(&conv);
            } else {
                d.insert(conv, text);
            }
        });
    });
    // Typing notices: at most one every two seconds while the draft changes.
    let last_notice = StoredValue::new(0.0_f64);
    let notify_typing = move || {
        #[cfg(feature = "hydrate")]
        {
            let now = js_sys::Date::now();
            if now - last_notice.get_value() > 2000.0 {
                last_notice.set_value(now);
                chat.send(crate::protocol::ClientFrame::Typing { conv });
            }
        }
    };
    // The message the next one answers, if it is in this conversation.
    let replying_here = move || {
        chat.acting
            .replying
            .get_untracked()
            .filter(|r| r.0 == conv)
            .map(|r| r.1)
    };
    let reply_bar = move || {
        let (_, seq) = chat.acting.replying.get().filter(|r| r.0 == conv)?;
        let (from, quoted) = chat.events().with(|all| {
            let list = all.get(&conv)?;
            let from = list.get(&seq)?.from;
            Some((from, message_states(list).remove(&seq)?))
        })?;
        let who = chat.name_of(conv, from);
        Some(view! {
            <div class="replying" data-testid="replying">
                <span>
                    "Replying to " <strong>{who}</strong> ": " {snippet(&quoted)}
                </span>
                <button
                    type="button"
                    class="link"
                    aria-label="Cancel reply"
                    on:click=move |_| {
                        chat.acting.replying.set(None);
                        focus_composer();
                    }
                >
                    "Cancel"
                </button>
            </div>
        })
    };
    let field = NodeRef::<html::Textarea>::new();
    let picker = MentionPicker::new(conv, draft, field);
    let too_long = move || draft.with(|d| d.chars().count() > MAX_BODY_CHARS);
    let submit = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() || body.chars().count() > MAX_BODY_CHARS {
            return;
        }
        let reply_to = replying_here();
        chat.acting.replying.set(None);
        chat.post_answering(conv, body, reply_to);
        // The message ends this burst of typing; the next keystroke announces a new one.
        last_notice.set_value(0.0);
        draft.set(String::new());
    };
    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            {reply_bar}
            <label for="composer" class="visually-hidden">
                "Message"
            </label>
            <textarea
                id="composer"
                rows="2"
                placeholder="Write a message — Enter sends, Shift+Enter for a new line"
                aria-invalid=move || too_long().to_string()
                aria-describedby="composer-error"
                aria-autocomplete="list"
                aria-controls=move || picker.open().then_some("mention-list")
                aria-activedescendant=move || picker.active()
                node_ref=field
                bind:value=draft
                on:input=move |_| {
                    notify_typing();
                    picker.follow_caret();
                }
                on:click=move |_| picker.follow_caret()
                on:keyup=move |ev| {
                    if matches!(ev.key().as_str(), "ArrowLeft" | "ArrowRight" | "Home" | "End") {
                        picker.follow_caret();
                    }
                }
                on:keydown=move |ev| {
                    if !ev.is_composing() && !ev.shift_key() && picker.key(&ev.key()) {
                        ev.prevent_default();
                    } else if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    } else if ev.key() == "ArrowUp" && draft.with_untracked(String::is_empty) {
                        // Up in an empty composer edits the user's last message here.
                        if let Some(seq) = chat.last_own_message(conv) {
                            ev.prevent_default();
                            chat.acting.editing.set(Some((conv, seq)));
                        }
                    } else if ev.key() == "Escape" && replying_here().is_some() {
                        chat.acting.replying.set(None);
                    }
                }
            ></textarea>
            <MentionList picker />
            <button type="submit" disabled=too_long>
                "Send"
            </button>
            <p class="field-error" id="composer-error" role="alert" data-testid="composer-error">
                {move || {
                    too_long()
                        .then(|| {
                            format!(
                                "Messages are at most {MAX_BODY_CHARS} characters ({} now)",
                                draft.with(|d| d.chars().count()),
                            )
                        })
                }}
            </p>
        </form>
    }
}
