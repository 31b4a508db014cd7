//! The glue between the transport and the chat: one WebSocket per tab while someone is logged
//! in, its frames fed into [`Chat`], its state shown as [`ConnectionStatus`].
//!
//! Browser only. `crate::ws_client` knows nothing of the app; this is the one place that knows
//! both.

use futures::channel::mpsc;
use leptos::prelude::*;

use super::Chat;
use crate::{
    app::connection::ConnectionStatus,
    auth::{Account, ApiError},
    protocol::UserId,
    ws_client::{self, Client, LinkState, Report},
};

/// Keeps one socket running while `user` is someone: started when a user appears, kept across
/// navigation (the account lookup refetches then, but the user is the same), stopped on log
/// out.
pub fn keep_socket(user: Resource<Result<Option<Account>, ApiError>>) {
    let status = expect_context::<RwSignal<ConnectionStatus>>();
    let chat = expect_context::<Chat>();
    let running = StoredValue::new_local(None::<(UserId, Client)>);
    Effect::new(move |_| {
        // Still loading: keep whatever runs.
        let Some(result) = user.get() else { return };
        let who = result.ok().flatten().map(|account| account.id);
        running.update_value(|slot| {
            if slot.as_ref().map(|(id, _)| *id) == who {
                return;
            }
            if let Some((_, client)) = slot.take() {
                client.stop();
            }
            if let Some(id) = who {
                *slot = Some((id, connect(status, chat)));
            }
        });
    });
}

/// Starts the transport for this tab: `chat`'s frames go out through it, what comes in goes to
/// `chat`, and `status` follows it.
fn connect(status: RwSignal<ConnectionStatus>, chat: Chat) -> Client {
    // Frames the UI sends come through this channel, which the socket loop waits on.
    let (commands, queued) = mpsc::unbounded();
    chat.attach(commands);
    ws_client::start(
        queued,
        move || chat.opening(),
        move |report| match report {
            Report::State(state) => status.set(match state {
                LinkState::Connecting => ConnectionStatus::Connecting,
                LinkState::Connected => ConnectionStatus::Connected,
                LinkState::Reconnecting => ConnectionStatus::Reconnecting,
                LinkState::Outdated => ConnectionStatus::Outdated,
                LinkState::SignedOut => ConnectionStatus::SignedOut,
            }),
            Report::Frame(frame) => chat.apply(frame),
            // Never sent by this client: kept for whichever client runs next.
            Report::Unsent(frame) => chat.send(frame),
        },
    )
}
