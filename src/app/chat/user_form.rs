//! A form that looks a username up and sends the frame made for the user it names (start a
//! direct conversation, add someone to a room).
//!
//! A component: depends on the model handle and `auth::find_user`, never on the page.

use leptos::prelude::*;

use super::Chat;
use crate::{
    auth::find_user::find_user,
    protocol::{ClientFrame, UserId},
};

/// Looks the typed username up and sends `frame(user)` for the user found.
#[component]
pub fn UserForm(
    /// The input's id, also the form's class.
    id: &'static str,
    /// The label.
    label: &'static str,
    /// The button's text.
    button: &'static str,
    /// The frame to send for the user found.
    frame: impl Fn(UserId) -> ClientFrame + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let username = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let lookup = Action::new(move |name: &String| {
        let name = name.clone();
        async move {
            match find_user(name.clone()).await {
                Ok(Some(account)) => {
                    chat.start(frame(account.id));
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
