//! One open conversation: header with name and members, the message list, the composer.
//!
//! The list is grouped by day and by sender (consecutive messages from one person within five
//! minutes share a header), marks the first unread message with a divider, loads older history
//! when scrolled to the top without moving what is on screen, follows new messages while the
//! user is at the bottom, and otherwise offers "jump to latest".

use leptos::{html, prelude::*};
use leptos_router::{components::A, hooks::use_params_map};

use super::{
    Chat, Pending,
    sidebar::{ChatScreen, UserForm},
    text::{MessageText, local_day, local_time},
};
use crate::protocol::{
    ClientFrame, ClientMsgId, ConvId, ConvKind, ConvSummary, Event, EventBody, MAX_BODY_CHARS, Seq,
    UserId,
};

/// Messages from one sender closer together than this share one header.
const GROUP_GAP_MS: i64 = 5 * 60 * 1000;
/// Within this many pixels of the top, older history is fetched.
const LOAD_OLDER_PX: i32 = 120;
/// Within this many pixels of the bottom counts as "at the latest message".
const AT_BOTTOM_PX: i32 = 40;

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

/// True once the component runs in the browser (effects never run on the server). What
/// depends on the viewer's clock or time zone waits for it, so hydration meets the HTML the
/// server sent.
fn mounted() -> ReadSignal<bool> {
    let (mounted, set_mounted) = signal(false);
    Effect::new(move |_| set_mounted.set(true));
    mounted
}

/// A line of the message list.
#[derive(Clone, Debug, PartialEq)]
enum Row {
    /// The start of a calendar day (viewer's time zone).
    Day { key: i64, label: String },
    /// Everything below is unread.
    Unread,
    /// An event; `continued` when it shares the header of the message above.
    Event { event: Event, continued: bool },
}

impl Row {
    fn key(&self) -> (u8, i64, bool) {
        match self {
            Row::Day { key, .. } => (0, *key, false),
            Row::Unread => (1, 0, false),
            Row::Event { event, continued } => (2, event.seq.0, *continued),
        }
    }
}

/// What was unread when the conversation opened: seqs after the first, up to the second.
/// Messages arriving while it is open are read as they come, so they get no divider.
type UnreadSpan = Option<(Seq, Seq)>;

/// Lays out `events` (ascending) as rows.
fn rows(events: &[Event], unread: UnreadSpan, me: Option<UserId>, days: bool) -> Vec<Row> {
    let mut out = Vec::with_capacity(events.len() + 4);
    let mut day = None;
    let mut previous: Option<&Event> = None;
    let mut divided = false;
    for event in events {
        let mut new_day = false;
        if days {
            let (key, label) = local_day(event.at);
            if day != Some(key) {
                day = Some(key);
                new_day = true;
                out.push(Row::Day { key, label });
            }
        }
        let is_message = matches!(event.body, EventBody::Message { .. });
        if !divided
            && is_message
            && Some(event.from) != me
            && unread.is_some_and(|(after, upto)| event.seq > after && event.seq <= upto)
        {
            divided = true;
            out.push(Row::Unread);
        }
        let continued = is_message
            && !new_day
            && previous.is_some_and(|p| {
                matches!(p.body, EventBody::Message { .. })
                    && p.from == event.from
                    && event.at - p.at < GROUP_GAP_MS
            })
            && !matches!(out.last(), Some(Row::Unread));
        out.push(Row::Event {
            event: event.clone(),
            continued,
        });
        previous = Some(event);
    }
    out
}

#[component]
pub(super) fn Conversation(conv: ConvId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    chat.send(ClientFrame::Members { conv });
    let mounted = mounted();
    let summary = move || {
        chat.conversations
            .with(|l| l.iter().find(|c| c.id == conv).cloned())
    };
    // What was unread when the conversation opened: the divider stays there while it is open.
    let span_of = move |s: &ConvSummary| {
        let held = chat
            .events
            .with_untracked(|all| all.get(&conv).and_then(|l| l.keys().next_back().copied()));
        (s.read_seq, held.map_or(s.last_seq, |h| h.max(s.last_seq)))
    };
    let unread_after = RwSignal::new(
        chat.conversations
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
            .events
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
            <Members conv />
        </header>
        <Show
            when=known
            fallback=move || {
                view! {
                    <p class="empty" data-testid="not-member">
                        {move || {
                            if chat.me.get().is_some() {
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
        <Typing conv />
        <Composer conv />
    }
}

/// The member count, and the list behind it; rooms can add people by username.
#[component]
fn Members(conv: ConvId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let is_room = move || {
        chat.conversations
            .with(|l| l.iter().any(|c| c.id == conv && c.kind == ConvKind::Room))
    };
    let members = move || {
        chat.members
            .with(|all| all.get(&conv).cloned().unwrap_or_default())
    };
    let count = move || members().len();
    let crowded = move || chat.crowded.with(|set| set.contains(&conv));
    view! {
        <details class="members">
            <summary data-testid="member-count">
                {move || match (count(), crowded()) {
                    (n, true) => format!("{n}+ members"),
                    (1, false) => "1 member".to_string(),
                    (n, false) => format!("{n} members"),
                }}
            </summary>
            <div class="members-panel">
                <ul>
                    <For
                        each=members
                        key=|m| (m.user, m.online)
                        children=move |m| {
                            let online = move || chat.online.with(|s| s.contains(&m.user));
                            view! {
                                <li>
                                    <span class="presence" class:online=online></span>
                                    {m.display_name.clone()}
                                    <span class="username">{format!("@{}", m.username)}</span>
                                </li>
                            }
                        }
                    />
                </ul>
                <Show when=is_room>
                    <Invite conv />
                </Show>
            </div>
        </details>
    }
}

/// Adds someone to a room by username.
#[component]
fn Invite(conv: ConvId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    view! {
        <UserForm
            id="invite"
            label="Add to room"
            button="Add"
            found=move |user| chat.send(ClientFrame::Invite { conv, user })
        />
    }
}

#[component]
fn MessageList(
    conv: ConvId,
    unread_after: RwSignal<UnreadSpan>,
    mounted: ReadSignal<bool>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let list = NodeRef::<html::Ol>::new();
    let at_bottom = RwSignal::new(true);
    // Before older history is inserted: the distance from the list's end to the view's top,
    // restored afterwards so what the user is reading stays put.
    let anchor = StoredValue::new(None::<i32>);

    let all_rows = Memo::new(move |_| {
        let me = chat.me.get();
        let days = mounted.get();
        chat.events.with(|all| {
            let events: Vec<Event> = all
                .get(&conv)
                .map(|l| l.values().cloned().collect())
                .unwrap_or_default();
            rows(&events, unread_after.get(), me, days)
        })
    });
    let pending = move || {
        chat.outbox.with(|outbox| {
            outbox
                .iter()
                .filter(|p| p.conv == conv)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let older_exists = move || {
        chat.events
            .with(|all| all.get(&conv).and_then(|l| l.keys().next().copied()))
            .is_some_and(|first| first > Seq(1))
    };
    let loading = move || chat.loading.with(|l| l.contains_key(&conv));

    let scroll_to_end = move || {
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    // After every change to what is shown: keep the reader's place, or follow the newest.
    Effect::new(move |_| {
        all_rows.track();
        chat.outbox.track();
        let Some(el) = list.get() else { return };
        // On the next frame, when the list holds what changed.
        request_animation_frame(move || {
            if let Some(from_end) = anchor.get_value() {
                anchor.set_value(None);
                el.set_scroll_top(el.scroll_height() - from_end);
            } else if at_bottom.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    });
    let on_scroll = move |_| {
        let Some(el) = list.get_untracked() else {
            return;
        };
        let bottom = el.scroll_height() - el.scroll_top() - el.client_height();
        at_bottom.set(bottom <= AT_BOTTOM_PX);
        if el.scroll_top() <= LOAD_OLDER_PX
            && !loading()
            && chat.first_seq(conv).is_some_and(|s| s > Seq(1))
        {
            anchor.set_value(Some(el.scroll_height() - el.scroll_top()));
            chat.load_older(conv);
        }
    };

    view! {
        <div class="message-area">
            <ol
                class="messages"
                node_ref=list
                data-testid="messages"
                aria-label="Messages"
                role="log"
                aria-live="polite"
                tabindex="0"
                on:scroll=on_scroll
            >
                <li class="history-edge" data-testid="history-edge">
                    {move || {
                        if loading() {
                            "Loading earlier messages…"
                        } else if older_exists() {
                            "Scroll up for earlier messages"
                        } else {
                            "This is the beginning of the conversation."
                        }
                    }}
                </li>
                <For
                    each=move || all_rows.get()
                    key=Row::key
                    children=move |row| view! { <RowLine conv row mounted /> }
                />
                <For
                    each=pending
                    key=|p| (p.client_msg_id.clone(), p.acked, p.failed.clone())
                    children=move |p| view! { <PendingLine pending=p /> }
                />
            </ol>
            <Show when=move || !at_bottom.get()>
                <button
                    type="button"
                    class="jump"
                    data-testid="jump-to-latest"
                    on:click=move |_| {
                        at_bottom.set(true);
                        scroll_to_end();
                    }
                >
                    "Jump to latest ↓"
                </button>
            </Show>
        </div>
    }
}

#[component]
fn RowLine(conv: ConvId, row: Row, mounted: ReadSignal<bool>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    match row {
        Row::Day { label, .. } => view! {
            <li class="day" role="separator">
                <span>{label}</span>
            </li>
        }
        .into_any(),
        Row::Unread => view! {
            <li class="unread-divider" role="separator" data-testid="unread-divider">
                <span>"New messages"</span>
            </li>
        }
        .into_any(),
        Row::Event { event, continued } => {
            let from = chat.name_of(conv, event.from);
            let at = event.at;
            let time = move || {
                if mounted.get() {
                    local_time(at)
                } else {
                    String::new()
                }
            };
            match event.body {
                EventBody::Message { body, .. } => {
                    let mine = Some(event.from) == chat.me.get_untracked();
                    let class = match (mine, continued) {
                        (true, true) => "message mine continued",
                        (true, false) => "message mine",
                        (false, true) => "message continued",
                        (false, false) => "message",
                    };
                    view! {
                        <li class=class data-testid="message" data-seq=event.seq.0>
                            <div class="meta">
                                <span class="from">{from}</span>
                                " "
                                <time class="at">{time}</time>
                            </div>
                            <p class="body">
                                <MessageText body />
                            </p>
                        </li>
                    }
                    .into_any()
                }
                other => {
                    let text = match other {
                        EventBody::Created { name } => format!("{from} created {name}"),
                        EventBody::Joined {} => format!("{from} joined"),
                        EventBody::Invited { user } => {
                            format!("{from} added {}", chat.name_of(conv, user))
                        }
                        EventBody::Left {} => format!("{from} left"),
                        EventBody::Removed { user } => {
                            format!("{from} removed {}", chat.name_of(conv, user))
                        }
                        EventBody::Renamed { name } => {
                            format!("{from} renamed the room to {name}")
                        }
                        EventBody::Message { .. } => String::new(),
                    };
                    view! { <li class="notice">{text}</li> }.into_any()
                }
            }
        }
    }
}

/// One of the user's messages the server has not echoed yet: sending, sent, or failed.
#[component]
fn PendingLine(pending: Pending) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let Pending {
        client_msg_id,
        body,
        acked,
        failed,
        ..
    } = pending;
    let state = match (&failed, acked) {
        (Some(_), _) => "failed",
        (None, true) => "sent",
        (None, false) => "sending",
    };
    let actions = failed.map(|why| {
        let (again, drop) = (client_msg_id.clone(), client_msg_id.clone());
        view! {
            <span class="failed" role="alert">
                {format!("Not sent: {why}")}
            </span>
            <button type="button" class="link" on:click=move |_| chat.retry(&again)>
                "Retry"
            </button>
            <button type="button" class="link" on:click=move |_| chat.discard(&drop)>
                "Discard"
            </button>
        }
    });
    view! {
        <li class="message mine pending" data-testid="message" data-state=state>
            <div class="meta">
                <span class="from">"You"</span>
            </div>
            <p class="body">
                <MessageText body />
            </p>
            <span class="state">
                {match state {
                    "sent" => "sent",
                    "sending" => "sending…",
                    _ => "",
                }}
            </span>
            {actions}
        </li>
    }
}

#[component]
fn Typing(conv: ConvId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let typing = move || {
        chat.typing
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

#[component]
fn Composer(conv: ConvId) -> impl IntoView {
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
                chat.send(ClientFrame::Typing { conv });
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
