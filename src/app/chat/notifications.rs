//! Notifications in the page: the settings controls (a conversation's level and mute, "do not
//! disturb", the browser permission), browser notifications for what the model says should
//! notify, and the unread count in the window title and the favicon.
//!
//! A component and its browser glue: depends on the model handle [`Chat`]; the rule of what
//! notifies is the model's (`model/notify.rs`).

use leptos::prelude::*;

use super::{Chat, Part, Slice};
use crate::protocol::{ConvId, ConvKind, NotifyLevel, NotifySettings};

impl Chat {
    /// `conv`'s notification settings; tracks the conversations.
    pub fn notify_settings(&self, conv: ConvId) -> NotifySettings {
        self.parts[Part::Conversations as usize].track();
        self.model.with_value(|m| m.notify_settings(conv))
    }

    /// Sets `conv`'s notification settings (the server confirms them to every device).
    pub fn set_notify(&self, conv: ConvId, settings: NotifySettings) {
        self.update(|m| m.set_notify(conv, settings));
    }

    /// Whether "do not disturb" is on.
    pub fn do_not_disturb(&self) -> Slice<bool> {
        self.slice(Part::Settings, |m| &m.do_not_disturb)
    }

    /// Turns "do not disturb" on or off.
    pub fn set_do_not_disturb(&self, on: bool) {
        self.update(|m| m.set_do_not_disturb(on));
    }

    /// The unread count of the title and favicon (muted conversations count their mentions
    /// only); tracks the conversations and events.
    pub fn unread_total(&self) -> usize {
        self.parts[Part::Conversations as usize].track();
        self.parts[Part::Events as usize].track();
        self.model.with_value(|m| m.unread_total())
    }
}

/// Keeps the window's title saying how many messages are unread, "(3) switchboard", and the
/// favicon marked while any are, so a tab in the background shows it; back to plain when the
/// screen goes.
pub fn unread_in_title(chat: Chat) {
    #[cfg(feature = "hydrate")]
    {
        const NAME: &str = "switchboard";
        let favicon = |unread: bool| {
            let href = if unread {
                "/favicon-unread.svg"
            } else {
                "/favicon.svg"
            };
            if let Ok(Some(link)) = document().query_selector("link[rel=icon]") {
                let _ = link.set_attribute("href", href);
            }
        };
        Effect::new(move |_| {
            let total = chat.unread_total();
            let title = if total > 0 {
                format!("({total}) {NAME}")
            } else {
                NAME.to_owned()
            };
            document().set_title(&title);
            favicon(total > 0);
        });
        on_cleanup(move || {
            document().set_title(NAME);
            favicon(false);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = chat;
}

/// Shows the browser notification for the message at `seq` of `conv`, if the tab is hidden
/// and the person allowed notifications. One per conversation at a time (a newer one replaces
/// it); clicking it brings the tab forward with the conversation open.
#[cfg(feature = "hydrate")]
pub(super) fn show(chat: Chat, conv: ConvId, seq: crate::protocol::Seq) {
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{Notification, NotificationOptions, NotificationPermission, VisibilityState};

    if document().visibility_state() != VisibilityState::Hidden
        || !supported()
        || Notification::permission() != NotificationPermission::Granted
    {
        return;
    }
    let Some(note) = chat.model.with_value(|m| m.notification(conv, seq)) else {
        return;
    };
    let options = NotificationOptions::new();
    options.set_body(&note.body);
    options.set_tag(&format!("conv-{}", note.conv));
    let Ok(shown) = Notification::new_with_options(&note.title, &options) else {
        return;
    };
    // One handler for every notification (made once, kept for the page's life): it finds
    // the conversation in the notification's tag, so no closure leaks per notification.
    thread_local! {
        static ON_CLICK: std::cell::OnceCell<Closure<dyn Fn(web_sys::Event)>> =
            const { std::cell::OnceCell::new() };
    }
    ON_CLICK.with(|cell| {
        let handler = cell.get_or_init(|| {
            Closure::new(move |event: web_sys::Event| {
                let Some(note) = event
                    .target()
                    .and_then(|t| t.dyn_into::<Notification>().ok())
                else {
                    return;
                };
                let tag = note.tag().unwrap_or_default();
                if let Some(id) = tag.strip_prefix("conv-").and_then(|t| t.parse().ok()) {
                    let _ = window().focus();
                    chat.opened.set(Some(ConvId(id)));
                }
                note.close();
            })
        });
        shown.set_onclick(Some(handler.as_ref().unchecked_ref()));
    });
}

/// Whether this browser has notifications at all.
#[cfg(feature = "hydrate")]
fn supported() -> bool {
    js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false)
}

/// The browser's notification permission: `default` (not asked), `granted`, `denied`, or
/// `unsupported`; `default` on the server.
fn permission() -> &'static str {
    #[cfg(feature = "hydrate")]
    {
        use web_sys::{Notification, NotificationPermission};
        if !supported() {
            return "unsupported";
        }
        match Notification::permission() {
            NotificationPermission::Granted => "granted",
            NotificationPermission::Denied => "denied",
            _ => "default",
        }
    }
    #[cfg(not(feature = "hydrate"))]
    "default"
}

/// The person's notification controls, in the sidebar: the browser permission (asked only
/// when they press the button, never on load) and "do not disturb".
#[component]
pub fn NotificationSettings() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let allowed = RwSignal::new("default");
    Effect::new(move |_| allowed.set(permission()));
    let ask = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::closure::Closure;
            let answered = Closure::once_into_js(move |_: wasm_bindgen::JsValue| {
                allowed.set(permission());
            });
            let _ = web_sys::Notification::request_permission_with_permission_callback(
                wasm_bindgen::JsCast::unchecked_ref(&answered),
            );
        }
    };
    let dnd = chat.do_not_disturb();
    view! {
        <div class="notify-settings" data-testid="notify-settings">
            {move || match allowed.get() {
                "default" => {
                    view! {
                        <button type="button" class="link" on:click=ask data-testid="enable-notifications">
                            "Enable notifications"
                        </button>
                    }
                        .into_any()
                }
                "denied" => {
                    view! { <span class="hint">"Notifications are blocked in this browser."</span> }
                        .into_any()
                }
                _ => ().into_any(),
            }}
            <label class="dnd">
                <input
                    type="checkbox"
                    data-testid="do-not-disturb"
                    prop:checked=move || dnd.get()
                    on:change=move |ev| chat.set_do_not_disturb(event_target_checked(&ev))
                />
                "Do not disturb"
            </label>
        </div>
    }
}

/// A conversation's notification level and mute, in its header.
#[component]
pub fn ConversationNotify(
    /// The conversation.
    conv: ConvId,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let settings = move || chat.notify_settings(conv);
    let direct = move || {
        chat.conversations()
            .with(|l| l.iter().any(|c| c.id == conv && c.kind == ConvKind::Direct))
    };
    // In a direct conversation every message is addressed to you: "mentions" is "all".
    let level_value = move || match (settings().level, direct()) {
        (NotifyLevel::Mentions, true) => "all",
        (level, _) => level.as_str(),
    };
    let set_level = move |ev| {
        if let Some(level) = NotifyLevel::parse(&event_target_value(&ev)) {
            let muted = settings().muted;
            chat.set_notify(conv, NotifySettings { level, muted });
        }
    };
    let toggle_mute = move |_| {
        let now = chat.model.with_value(|m| m.notify_settings(conv));
        chat.set_notify(
            conv,
            NotifySettings {
                muted: !now.muted,
                ..now
            },
        );
    };
    view! {
        <div class="conv-notify">
            <select
                aria-label="Notify me about"
                data-testid="notify-level"
                prop:value=level_value
                on:change=set_level
            >
                <option value="all">"Every message"</option>
                <Show when=move || !direct()>
                    <option value="mentions">"Mentions only"</option>
                </Show>
                <option value="none">"Nothing"</option>
            </select>
            <button
                type="button"
                class="mute"
                data-testid="mute"
                aria-pressed=move || settings().muted.to_string()
                on:click=toggle_mute
            >
                {move || if settings().muted { "Unmute" } else { "Mute" }}
            </button>
        </div>
    }
}
