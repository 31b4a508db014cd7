//! The profile part of `/settings`: the display name everyone sees, changed live. It goes over
//! the socket (`set_profile`): the server writes a `profile` event into every conversation of
//! the user, so every screen showing them follows at once, and replays it on resume.
//!
//! A component: depends on the chat model handle and the session, never on a page.

use leptos::prelude::*;

use super::{Session, SubmitRow};
use crate::{app::chat::Chat, auth::DISPLAY_NAME_MAX, protocol::ClientFrame};

/// "Display name": the field, filled with the current name, and Save.
#[component]
pub fn ProfileSection() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let session = expect_context::<Session>();
    let name = RwSignal::new(String::new());
    let edited = RwSignal::new(false);
    // The name shown until the person types: the page's, else the account's.
    Effect::new(move |_| {
        let current = chat.own_name().or_else(|| {
            session
                .user
                .get()
                .and_then(Result::ok)
                .flatten()
                .map(|a| a.display_name)
        });
        if let Some(current) = current
            && !edited.get_untracked()
        {
            name.set(current);
        }
    });
    let asked = RwSignal::new(None::<u64>);
    let saved = move || {
        let at = asked.get()?;
        (chat.profile_saved() > at).then(|| {
            format!(
                "Saved: everyone now sees you as {}.",
                chat.own_name().unwrap_or_default()
            )
        })
    };
    view! {
        <section class="card auth">
            <h2>"Profile"</h2>
            <form
                class="form"
                on:submit=move |ev| {
                    ev.prevent_default();
                    asked.set(Some(chat.profile_saved()));
                    edited.set(false);
                    chat.send(ClientFrame::SetProfile {
                        display_name: name.get_untracked(),
                    });
                }
            >
                <label for="display-name">"Display name"</label>
                <input
                    id="display-name"
                    bind:value=name
                    on:input=move |_| edited.set(true)
                    maxlength=DISPLAY_NAME_MAX
                    autocomplete="nickname"
                />
                <p class="hint">
                    "What everyone sees beside your messages. Empty: your username."
                </p>
                <SubmitRow label="Save name" pending=Signal::stored(false) testid="profile-ok">
                    {saved}
                </SubmitRow>
                <p class="field-error" role="alert" data-testid="profile-error">
                    {move || chat.notice().get()}
                </p>
            </form>
        </section>
    }
}
