//! What the server renders the chat with, so the first paint needs no WebSocket round trip.
//!
//! [`first_paint`] is a server function: during server rendering it runs in-process, and its
//! result is serialised into the page, so hydration reads the same value instead of calling the
//! server again. [`super::Chat::seed`] takes it into the model.
//!
//! The app never reads the server's store or hub itself: it asks through [`ChatSource`], which
//! the server implements for its state (`server::first_paint`). This module depends on `auth`
//! (who is calling), `protocol` and the model's [`ChatSnapshot`], never on `crate::server`.

use leptos::prelude::*;

use super::model::ChatSnapshot;
use crate::auth::ApiError;
#[cfg(feature = "ssr")]
use crate::protocol::{ConvId, UserId};

/// What the server provides for the first paint.
#[cfg(feature = "ssr")]
pub trait ChatSource {
    /// `me`'s conversations, with `open`'s members and latest events when `me` is a member
    /// of it.
    fn chat_snapshot(
        &self,
        me: UserId,
        open: Option<ConvId>,
    ) -> impl Future<Output = Result<ChatSnapshot, ApiError>> + Send;
}

/// The chat as it stands for the caller, with `open`'s latest events when the caller is a
/// member of it. `None` when nobody is signed in.
#[server(prefix = "/api", endpoint = "first_paint")]
pub async fn first_paint(open: Option<i64>) -> Result<Option<ChatSnapshot>, ApiError> {
    let call = crate::auth::ssr::Call::current()?;
    let Some(identity) = call.identity().await? else {
        return Ok(None);
    };
    let mut snapshot = call
        .state
        .chat_snapshot(identity.user.id, open.map(ConvId))
        .await?;
    snapshot.username = identity.user.username;
    Ok(Some(snapshot))
}
