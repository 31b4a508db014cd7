//! Account pages and controls: register, log in, log out, display name, change password,
//! access tokens.
//!
//! Every form is an `ActionForm` posting to an `/api` server function, so it works as a plain
//! HTML form before the WASM has loaded (or without it): the server redirects back with the
//! error as a fixed code in the URL (`?error=...`, see [`crate::auth::form_error`]), and the page
//! renders that code's own message next to the field it concerns. A message is never taken from
//! the URL: the framework's `__err` is ignored.

mod profile;
mod tokens;

use profile::ProfileSection;
use tokens::TokensSection;

use leptos::prelude::*;
use leptos_router::components::A;

use super::{chat::Chat, connection::ConnectionIndicator};
use crate::auth::{
    self, Account, ApiError, Field, change_password::ChangePassword, current_user::current_user,
    login::Login, logout::Logout, register::Register,
};

/// App-wide account state: who is logged in, and the action that logs out.
///
/// Log-in and register actions live in their pages instead: only actions created inside
/// `<Routes>` receive a no-JS form's error from the URL. Both end by navigating to `/`, which
/// refetches [`Session::user`].
#[derive(Clone, Copy)]
pub struct Session {
    /// `POST /api/logout`.
    pub logout: ServerAction<Logout>,
    /// The logged-in account; refetched on every navigation and after logging out.
    pub user: Resource<Result<Option<Account>, ApiError>>,
}

/// Creates the [`Session`] and provides it as context.
pub fn provide_session() -> Session {
    let logout = ServerAction::<Logout>::new();
    let location = leptos_router::hooks::use_location();
    let user = Resource::new(
        move || (location.pathname.get(), logout.version().get()),
        |_| current_user(),
    );
    let session = Session { logout, user };
    provide_context(session);
    // One WebSocket per tab while someone is logged in.
    #[cfg(feature = "hydrate")]
    super::chat::socket::keep_socket(user);
    session
}

/// The account area of the top bar: who is logged in, the socket status, log out — or the
/// links to log in and register.
#[component]
pub fn AccountBar() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match session.user.await {
                    Ok(Some(account)) => view! { <SignedIn account /> }.into_any(),
                    _ => {
                        view! {
                            <nav class="account" aria-label="Account">
                                <A href="/login">"Log in"</A>
                                <A href="/register" attr:class="button">
                                    "Register"
                                </A>
                            </nav>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Shown while logged in.
#[component]
fn SignedIn(account: Account) -> impl IntoView {
    let session = expect_context::<Session>();
    let chat = expect_context::<Chat>();
    // The page's own name follows a change made here or on another device, live.
    let name = move || {
        chat.own_name()
            .unwrap_or_else(|| account.display_name.clone())
    };
    view! {
        <nav class="account" aria-label="Account">
            <ConnectionIndicator />
            <A href="/settings" attr:class="who" attr:data-testid="who">
                {name}
            </A>
            <ActionForm action=session.logout attr:class="inline">
                <button type="submit" class="link">
                    "Log out"
                </button>
            </ActionForm>
        </nav>
    }
}

/// The error to show on a form: its action's last failure once it has been dispatched here, and
/// before that the no-JS post's error code from the URL. The value the framework decoded from
/// the URL's `__err` (which anyone can write) is never shown.
fn failure<S>(action: ServerAction<S>) -> Signal<Option<ApiError>>
where
    S: leptos::server_fn::ServerFn<Error = ApiError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let query = leptos_router::hooks::use_query_map();
    Signal::derive(move || {
        if action.version().get() > 0 {
            return action.value().get().and_then(Result::err);
        }
        query.with(|q| {
            let code = q.get_str(auth::form_error::ERROR_PARAM)?;
            auth::form_error::from_query(code, q.get_str(auth::form_error::RETRY_PARAM))
        })
    })
}

/// One labelled input with its error underneath, linked for screen readers.
#[component]
fn Input(
    /// The server-function argument this input carries.
    name: &'static str,
    /// The visible label.
    label: &'static str,
    /// `type` attribute.
    #[prop(default = "text")]
    kind: &'static str,
    /// `autocomplete` attribute.
    autocomplete: &'static str,
    /// The field errors are matched against.
    field: Field,
    /// The last error of the form's action.
    error: Signal<Option<ApiError>>,
    /// Whether the field must be filled in.
    #[prop(default = true)]
    required: bool,
    /// `maxlength` attribute, mirroring the server's rule.
    maxlength: usize,
) -> impl IntoView {
    let message = move || {
        error
            .get()
            .filter(|e| e.field() == Some(field))
            .map(|e| e.to_string())
    };
    let error_id = format!("{name}-error");
    view! {
        <label for=name>{label}</label>
        <input
            id=name
            name=name
            type=kind
            autocomplete=autocomplete
            required=required
            maxlength=maxlength
            aria-invalid=move || if message().is_some() { "true" } else { "false" }
            aria-describedby=error_id.clone()
        />
        <p class="field-error" id=error_id role="alert" data-testid=format!("{name}-error")>
            {message}
        </p>
    }
}

/// A form's submit button, disabled while its action runs, and the status line under it.
#[component]
fn SubmitRow(
    /// The button's text.
    label: &'static str,
    /// Whether the form's action is running.
    #[prop(into)]
    pending: Signal<bool>,
    /// The status line's `data-testid`.
    testid: &'static str,
    /// What the status line shows (reactive).
    children: Children,
) -> impl IntoView {
    view! {
        <SubmitButton label pending />
        <p class="form-ok" role="status" data-testid=testid>
            {children()}
        </p>
    }
}

/// The username field of the log-in and register forms.
#[component]
fn UsernameInput(
    /// The last error of the form's action.
    error: Signal<Option<ApiError>>,
) -> impl IntoView {
    view! {
        <Input
            name="username"
            label="Username"
            autocomplete="username"
            field=Field::Username
            error
            maxlength=*auth::USERNAME_LEN.end()
        />
    }
}

/// A password field.
#[component]
fn PasswordInput(
    /// The server-function argument it carries.
    name: &'static str,
    /// The visible label.
    label: &'static str,
    /// `current-password` or `new-password`.
    autocomplete: &'static str,
    /// The field errors are matched against.
    field: Field,
    /// The last error of the form's action.
    error: Signal<Option<ApiError>>,
) -> impl IntoView {
    view! {
        <Input
            name
            label
            kind="password"
            autocomplete
            field
            error
            maxlength=*auth::PASSWORD_LEN.end()
        />
    }
}

/// A form's submit button, disabled while its action runs.
#[component]
fn SubmitButton(
    /// The button's text.
    label: &'static str,
    /// Whether the form's action is running.
    #[prop(into)]
    pending: Signal<bool>,
) -> impl IntoView {
    view! {
        <button type="submit" disabled=move || pending.get()>
            {label}
        </button>
    }
}

/// The form-level error: anything not tied to one field.
#[component]
fn FormError(error: Signal<Option<ApiError>>) -> impl IntoView {
    let message = move || {
        error
            .get()
            .filter(|e| e.field().is_none())
            .map(|e| e.to_string())
    };
    view! {
        <p class="form-error" role="alert" data-testid="form-error">
            {message}
        </p>
    }
}

/// `/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let error = failure(action);
    view! {
        <section class="card auth">
            <h1>"Log in"</h1>
            <ActionForm action attr:class="form">
                <FormError error />
                <UsernameInput error />
                <PasswordInput name="password" label="Password" autocomplete="current-password" field=Field::Password error />
                <SubmitButton label="Log in" pending=action.pending() />
            </ActionForm>
            <p class="aside">"No account yet? " <A href="/register">"Register"</A></p>
        </section>
    }
}

/// `/register`.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let action = ServerAction::<Register>::new();
    let error = failure(action);
    view! {
        <section class="card auth">
            <h1>"Create your account"</h1>
            <ActionForm action attr:class="form">
                <FormError error />
                <UsernameInput error />
                <p class="hint">
                    "3–32 characters: letters, digits, '_', '.', '-'. Not case-sensitive."
                </p>
                <Input
                    name="display_name"
                    label="Display name (optional)"
                    autocomplete="nickname"
                    field=Field::DisplayName
                    error
                    required=false
                    maxlength=auth::DISPLAY_NAME_MAX
                />
                <PasswordInput name="password" label="Password" autocomplete="new-password" field=Field::Password error />
                <p class="hint">"At least 8 characters. A passphrase is best."</p>
                <SubmitButton label="Register" pending=action.pending() />
            </ActionForm>
            <p class="aside">"Already registered? " <A href="/login">"Log in"</A></p>
        </section>
    }
}

/// `/settings`: display name, change password, access tokens.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error = failure(action);
    let done = move || match action.value().get() {
        Some(Ok(changed)) => Some(format!(
            "Password changed. {} other session(s) logged out, {} access token(s) revoked.",
            changed.sessions_ended, changed.tokens_revoked
        )),
        _ => None,
    };
    view! {
        <h1 class="visually-hidden">"Settings"</h1>
        <ProfileSection />
        <section class="card auth">
            <h2>"Change password"</h2>
            <p class="aside" data-testid="password-warning">
                "Changing your password logs out your other sessions and revokes all your access \
                 tokens; bots and scripts using them will need new ones."
            </p>
            <ActionForm action attr:class="form">
                <FormError error />
                <PasswordInput name="current_password" label="Current password" autocomplete="current-password" field=Field::CurrentPassword error />
                <PasswordInput name="new_password" label="New password" autocomplete="new-password" field=Field::Password error />
                <SubmitRow label="Change password" pending=action.pending() testid="form-ok">
                    {done}
                </SubmitRow>
            </ActionForm>
        </section>
        <TokensSection />
    }
}
