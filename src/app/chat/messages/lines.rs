//! The lines of the message list: a day, the unread divider, an event, and one of the user's
//! messages on its way.

use leptos::prelude::*;

use super::Row;
use crate::app::chat::{
    Chat, Pending, avatar::Avatar, markdown::MessageText, message_actions::MessageLine,
    text::local_time,
};
use crate::protocol::{ConvId, EventBody};

#[component]
pub(super) fn RowLine(conv: ConvId, row: Row, mounted: ReadSignal<bool>) -> impl IntoView {
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
                    view! {
                        <li class="notice" data-seq=event.seq.0>
                            {text}
                        </li>
                    }
                    .into_any()
                }
            }
        }
    }
}

/// One of the user's messages the server has not echoed yet: sending, sent, or failed.
#[component]
pub(super) fn PendingLine(pending: Pending) -> impl IntoView {
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
