//! The message list of one conversation.
//!
//! The list is grouped by day and by sender (consecutive messages from one person within five
//! minutes share a header), marks the first unread message with a divider, loads older history
//! when scrolled to the top without moving what is on screen, follows new messages while the
//! user is at the bottom, and otherwise offers "jump to latest".
//!
//! A component: depends on the model handle, [`super::markdown`] and [`super::text`], never on
//! the page.

use leptos::{html, prelude::*};

use super::{
    Chat, MessageState, Pending,
    avatar::Avatar,
    is_annotation,
    markdown::MessageText,
    message_actions::MessageLine,
    message_states,
    text::{local_day, local_time},
};
use crate::protocol::{ConvId, Event, EventBody, Seq, UserId};

/// Messages from one sender closer together than this share one header.
const GROUP_GAP_MS: i64 = 5 * 60 * 1000;
/// Within this many pixels of the top, older history is fetched.
const LOAD_OLDER_PX: i32 = 120;
/// Within this many pixels of the bottom counts as "at the latest message".
const AT_BOTTOM_PX: i32 = 40;

/// A line of the message list.
#[derive(Clone, Debug, PartialEq)]
enum Row {
    /// The start of a calendar day (viewer's time zone).
    Day { key: i64, label: String },
    /// Everything below is unread.
    Unread,
    /// An event; `continued` when it shares the header of the message above; a message's
    /// current `state` (text, edited, deleted, reactions), and that of the one it answers.
    Event {
        event: Event,
        continued: bool,
        state: Option<Box<MessageState>>,
        quoted: Option<Box<MessageState>>,
    },
}

impl Row {
    /// Changes whenever the row must be drawn again (a message's state has a revision).
    fn key(&self) -> (u8, i64, bool, i64) {
        match self {
            Row::Day { key, .. } => (0, *key, false, 0),
            Row::Unread => (1, 0, false, 0),
            Row::Event {
                event,
                continued,
                state,
                quoted,
            } => (
                2,
                event.seq.0,
                *continued,
                [state, quoted]
                    .iter()
                    .filter_map(|s| s.as_ref().map(|s| s.revision.0))
                    .max()
                    .unwrap_or(0),
            ),
        }
    }
}

/// What was unread when the conversation opened: seqs after the first, up to the second.
/// Messages arriving while it is open are read as they come, so they get no divider.
pub type UnreadSpan = Option<(Seq, Seq)>;

/// Lays out `events` (ascending) as rows: edits, deletions and reactions shape the messages
/// they name (`states`) instead of being lines of their own.
fn rows(
    events: &[Event],
    states: std::collections::BTreeMap<Seq, MessageState>,
    unread: UnreadSpan,
    me: Option<UserId>,
    days: bool,
) -> Vec<Row> {
    let mut out = Vec::with_capacity(events.len() + 4);
    let mut day = None;
    let mut previous: Option<&Event> = None;
    let mut divided = false;
    for event in events.iter().filter(|e| !is_annotation(&e.body)) {
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
            state: states.get(&event.seq).cloned().map(Box::new),
            quoted: states
                .get(&event.seq)
                .and_then(|s| s.reply_to)
                .and_then(|seq| states.get(&seq).cloned())
                .map(Box::new),
        });
        previous = Some(event);
    }
    out
}

/// The events of `conv` and the user's unechoed messages in it.
#[component]
pub fn MessageList(
    /// The conversation.
    conv: ConvId,
    /// What was unread when it opened (where the divider goes).
    unread_after: RwSignal<UnreadSpan>,
    /// Whether the page runs in the browser yet (times and days wait for it).
    mounted: ReadSignal<bool>,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let list = NodeRef::<html::Ol>::new();
    let at_bottom = RwSignal::new(true);
    // Before older history is inserted: the distance from the list's end to the view's top,
    // restored afterwards so what the user is reading stays put.
    let anchor = StoredValue::new(None::<i32>);

    let all_rows = Memo::new(move |_| {
        let me = chat.me().get();
        let days = mounted.get();
        chat.events().with(|all| {
            let Some(list) = all.get(&conv) else {
                return Vec::new();
            };
            let events: Vec<Event> = list.values().cloned().collect();
            rows(&events, message_states(list), unread_after.get(), me, days)
        })
    });
    let pending = move || {
        chat.outbox().with(|outbox| {
            outbox
                .iter()
                .filter(|p| p.conv == conv)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let older_exists = move || {
        chat.events()
            .with(|all| all.get(&conv).and_then(|l| l.keys().next().copied()))
            .is_some_and(|first| first > Seq(1))
    };
    let loading = move || chat.loading().with(|l| l.contains_key(&conv));

    let scroll_to_end = move || {
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    // A reply's quote was clicked: scroll to the original, loading older pages until the list
    // holds it (or holds everything).
    let jump_to = move |el: &leptos::web_sys::HtmlOListElement, seq: Seq| {
        let selector = format!("[data-seq=\"{}\"]", seq.0);
        if let Some(target) = el.query_selector(&selector).ok().flatten() {
            chat.acting.jump.set(None);
            at_bottom.set(false);
            target.scroll_into_view_with_bool(true);
            let _ = target.set_attribute("data-jumped", "");
        } else if loading() {
            // The page on its way re-runs this.
        } else if chat
            .first_seq(conv)
            .is_some_and(|first| first > seq && first > Seq(1))
        {
            at_bottom.set(false);
            chat.load_older(conv);
        } else {
            chat.acting.jump.set(None);
        }
    };
    // After every change to what is shown: keep the reader's place, or follow the newest.
    Effect::new(move |_| {
        all_rows.track();
        chat.outbox().track();
        chat.acting.jump.track();
        let Some(el) = list.get() else { return };
        // On the next frame, when the list holds what changed.
        request_animation_frame(move || {
            if let Some(from_end) = anchor.get_value() {
                anchor.set_value(None);
                el.set_scroll_top(el.scroll_height() - from_end);
            } else if at_bottom.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
            if let Some((_, seq)) = chat.acting.jump.get_untracked().filter(|j| j.0 == conv) {
                jump_to(&el, seq);
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
            <li class="day">
                <span>{label}</span>
            </li>
        }
        .into_any(),
        Row::Unread => view! {
            <li class="unread-divider" data-testid="unread-divider">
                <span>"New messages"</span>
            </li>
        }
        .into_any(),
        Row::Event {
            event,
            continued,
            state,
            quoted,
        } => {
            let sender = event.from;
            let at = event.at;
            let time = move || {
                if mounted.get() {
                    local_time(at)
                } else {
                    String::new()
                }
            };
            match event.body {
                EventBody::Tombstone { target: None } => view! {
                    <li class="message deleted" data-testid="message" data-seq=event.seq.0>
                        <p class="body">"message deleted"</p>
                    </li>
                }
                .into_any(),
                EventBody::Message { .. } => view! {
                    <MessageLine
                        conv
                        event
                        continued
                        state=state.map(|s| *s).unwrap_or_default()
                        quoted=quoted.map(|q| *q)
                        time=Signal::derive(time)
                    />
                }
                .into_any(),
                other => {
                    // Names follow the member list: a newcomer's appears once it is loaded.
                    let text = move || {
                        let from = chat.name_of(conv, sender);
                        match &other {
                            EventBody::Created { name } => format!("{from} created {name}"),
                            EventBody::Joined {} => format!("{from} joined"),
                            EventBody::Invited { user } => {
                                format!("{} joined, invited by {from}", chat.name_of(conv, *user))
                            }
                            EventBody::Left {} => format!("{from} left"),
                            EventBody::Removed { user } => {
                                format!("{from} removed {}", chat.name_of(conv, *user))
                            }
                            EventBody::Renamed { name } => {
                                format!("{from} renamed the room to {name}")
                            }
                            _ => String::new(),
                        }
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
        conv,
        body,
        acked,
        failed,
        ..
    } = pending;
    let avatar = move || {
        chat.me().get().map(|me| {
            view! { <Avatar user=me name=Signal::derive(move || chat.display_name(conv, me)) /> }
        })
    };
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
                {avatar}
                <span class="from">"You"</span>
            </div>
            <div class="body">
                <MessageText body />
            </div>
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
