//! Writing in one conversation: the composer (draft kept per conversation, Enter sends,
//! typing notices) and the line that says who else is typing.
//!
//! A component: depends on the model handle, never on the page.

use leptos::prelude::*;

use super::Chat;
use crate::protocol::{ClientMsgId, ConvId, MAX_BODY_CHARS};

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

/// A fresh message id: time plus randomness, unique per sender in practice.
#[cfg(feature = "hydrate")]
fn new_client_msg_id() -> ClientMsgId {
    let now = js_sys::Date::now() as u64;
    let a = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    let b = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    ClientMsgId(format!("{now:x}-{a:08x}{b:08x}"))
}

#[cfg(not(feature = "hydrate"))]
fn new_client_msg_id() -> ClientMsgId {
    ClientMsgId(String::new())
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
    let too_long = move || draft.with(|d| d.chars().count() > MAX_BODY_CHARS);
    let submit = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() || body.chars().count() > MAX_BODY_CHARS {
            return;
        }
        chat.post(conv, body, new_client_msg_id());
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
            <label for="composer" class="visually-hidden">
                "Message"
            </label>
            <textarea
                id="composer"
                rows="2"
                placeholder="Write a message — Enter sends, Shift+Enter for a new line"
                aria-invalid=move || too_long().to_string()
                aria-describedby="composer-error"
                bind:value=draft
                on:input=move |_| notify_typing()
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
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
