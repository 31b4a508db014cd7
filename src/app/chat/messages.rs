//! The message list of one conversation.
//!
//! The list is grouped by day and by sender (consecutive messages from one person within five
//! minutes share a header), marks the first unread message with a divider, loads older history
//! when scrolled to the top without moving what is on screen, follows new messages while the
//! user is at the bottom, and otherwise offers "jump to latest". A conversation opened with
//! unread messages shows the first of them under the divider. However long the conversation,
//! only a window of rows is in the page ([`window`]), so the DOM stays bounded.
//!
//! A component: depends on the model handle, [`super::markdown`] and [`super::text`], never on
//! the page.

use leptos::{html, prelude::*, wasm_bindgen::JsCast};

use super::{Chat, MessageState, is_annotation, message_states, text::local_day};
use crate::protocol::{ConvId, Event, EventBody, Seq, UserId};

mod lines;
mod window;
use lines::{PendingLine, RowLine};
use window::STEP;

/// Messages from one sender closer together than this share one header.
const GROUP_GAP_MS: i64 = 5 * 60 * 1000;
/// Within this many pixels of the top, older history is fetched.
const LOAD_OLDER_PX: i32 = 120;
/// Within this many pixels of the bottom counts as "at the latest message".
const AT_BOTTOM_PX: i32 = 40;
/// A conversation opens at its first unread message when no more than this many events came
/// since; with more it opens at the newest (loading that much history first would be slow).
const MAX_UNREAD_OPEN: i64 = 1000;

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
    // Where following the newest last scrolled to: only the reader moving up from there stops
    // following (a scroll event can report a list that grew since, in a burst).
    let followed = StoredValue::new(0_i32);
    // Where the drawn part of the list starts, and the reader's place in it (see `window`).
    let top = RwSignal::new(None::<Seq>);
    let place = StoredValue::new(None::<(String, i32)>);
    // Older history was asked for at the top of what is drawn: draw it when it comes.
    let growing = StoredValue::new(false);
    // It opened with unread messages: show the first of them rather than the newest.
    let to_unread = StoredValue::new(
        unread_after
            .get_untracked()
            .is_some_and(|(after, upto)| upto > after && upto.0 - after.0 <= MAX_UNREAD_OPEN),
    );

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
    // The rows drawn, `start..end` of `len`.
    let bounds = Memo::new(move |_| {
        all_rows.with(|rows| {
            let (start, end) = window::range(rows, top.get());
            (start, end, rows.len())
        })
    });
    let drawn = move || {
        let (start, end, _) = bounds.get();
        all_rows.with(|rows| {
            rows.get(start..end)
                .map(<[Row]>::to_vec)
                .unwrap_or_default()
        })
    };
    let at_newest = move || bounds.with(|(_, end, len)| end == len);
    let pending = move || {
        if !at_newest() {
            return Vec::new();
        }
        chat.outbox().with(|outbox| {
            outbox
                .iter()
                .filter(|p| p.conv == conv)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let older_exists = move || {
        bounds.with(|(start, ..)| *start > 0)
            || chat
                .events()
                .with(|all| all.get(&conv).and_then(|l| l.keys().next().copied()))
                .is_some_and(|first| first > Seq(1))
    };
    let loading = move || chat.loading().with(|l| l.contains_key(&conv));
    let loading_now = move || chat.loading().with_untracked(|l| l.contains_key(&conv));
    let move_to =
        move |index: usize| top.set(all_rows.with_untracked(|r| window::top_at(r, index)));

    let scroll_to_end = move || {
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    // A reply's quote or a search hit was clicked: scroll to the original, drawing the part
    // of the list that holds it, or loading older pages until the model holds it.
    let jump_to = move |el: &leptos::web_sys::HtmlOListElement, seq: Seq| {
        if let Some(target) = window::row(el, &seq.0.to_string()) {
            chat.acting.jump.set(None);
            at_bottom.set(false);
            target.scroll_into_view_with_bool(true);
            let _ = target.set_attribute("data-jumped", "");
        } else if loading_now() {
            // The page on its way re-runs this.
        } else if chat
            .first_seq(conv)
            .is_some_and(|first| first > seq && first > Seq(1))
        {
            at_bottom.set(false);
            chat.load_older(conv);
        } else {
            let around = all_rows.with_untracked(|r| window::around(r, seq));
            if around == top.get_untracked() {
                // Held, drawn, and still not there: nothing of it to show.
                chat.acting.jump.set(None);
            } else {
                at_bottom.set(false);
                top.set(around);
            }
        }
    };
    // Opening with unread messages: load back to the first of them, draw it, and put the
    // divider at the top. True while that is under way (nothing else should scroll).
    let open_at_unread = move |el: &leptos::web_sys::HtmlOListElement| -> bool {
        let Some((after, _)) = unread_after.get_untracked() else {
            to_unread.set_value(false);
            return false;
        };
        if chat
            .first_seq(conv)
            .is_some_and(|first| first > after.next() && first > Seq(1))
        {
            if !loading_now() {
                chat.load_older(conv);
            }
            return true;
        }
        let divider = all_rows.with_untracked(|r| r.iter().position(|r| *r == Row::Unread));
        let Some(index) = divider else {
            to_unread.set_value(false);
            return false;
        };
        if index < bounds.get_untracked().0 {
            move_to(index.saturating_sub(2));
            return true;
        }
        to_unread.set_value(false);
        let Some(divider) = el
            .query_selector("[data-testid=unread-divider]")
            .ok()
            .flatten()
            .and_then(|d| d.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        else {
            return false;
        };
        el.set_scroll_top(divider.offset_top());
        let left = el.scroll_height() - el.scroll_top() - el.client_height();
        at_bottom.set(left <= AT_BOTTOM_PX);
        true
    };
    // After every change to what is shown: keep the reader's place, or follow the newest.
    Effect::new(move |_| {
        all_rows.track();
        bounds.track();
        chat.outbox().track();
        chat.acting.jump.track();
        let Some(el) = list.get() else { return };
        // On the next frame, when the list holds what changed.
        request_animation_frame(move || {
            if growing.get_value() && !loading_now() {
                growing.set_value(false);
                let (start, ..) = bounds.get_untracked();
                if start > 0 {
                    move_to(start.saturating_sub(STEP));
                }
            }
            if to_unread.get_value() && open_at_unread(&el) {
                return;
            }
            if at_bottom.get_untracked() {
                el.set_scroll_top(el.scroll_height());
                followed.set_value(el.scroll_top());
            } else if let Some(place) = place.get_value() {
                window::keep_place(&el, &place);
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
        let (start, end, len) = bounds.get_untracked();
        let bottom = el.scroll_height() - el.scroll_top() - el.client_height();
        let moved_up = el.scroll_top() + AT_BOTTOM_PX < followed.get_value();
        let following = bottom <= AT_BOTTOM_PX || (at_bottom.get_untracked() && !moved_up);
        at_bottom.set(following && end == len);
        if at_bottom.get_untracked() && top.get_untracked().is_some() {
            top.set(None);
        }
        if el.scroll_top() <= LOAD_OLDER_PX {
            if start > 0 {
                move_to(start.saturating_sub(STEP));
            } else if !loading_now() && chat.first_seq(conv).is_some_and(|s| s > Seq(1)) {
                growing.set_value(true);
                chat.load_older(conv);
            }
        } else if bottom <= LOAD_OLDER_PX && end < len {
            move_to(start + STEP);
        }
        place.set_value(window::reading_place(&el));
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
                    each=drawn
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
                        top.set(None);
                        scroll_to_end();
                    }
                >
                    "Jump to latest ↓"
                </button>
            </Show>
        </div>
    }
}
