//! What the server renders the chat with, so the first paint needs no WebSocket round trip.
//!
//! [`first_paint`] is a server function: during server rendering it runs in-process, and its
//! result is serialised into the page, so hydration reads the same value instead of calling the
//! server again. [`super::Chat::seed`] takes it into the model.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    auth::ApiError,
    protocol::{ConvId, ConvSummary, Epoch, Event, Member, UserId},
};

/// The signed-in user's conversations, and the open one's members and latest events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSnapshot {
    /// Who is signed in.
    pub me: UserId,
    /// Every conversation the user is in.
    pub conversations: Vec<ConvSummary>,
    /// The open conversation's members.
    pub members: Option<(ConvId, Vec<Member>)>,
    /// The open conversation's latest events, oldest first.
    pub events: Vec<Event>,
    /// The store epoch these seqs belong to (as a `hello` would announce it).
    pub epoch: Epoch,
}

/// The chat as it stands for the caller, with `open`'s latest events when the caller is a
/// member of it. `None` when nobody is signed in.
#[server(prefix = "/api", endpoint = "first_paint")]
pub async fn first_paint(open: Option<i64>) -> Result<Option<ChatSnapshot>, ApiError> {
    use crate::protocol::{RECENT_PAGE, Seq};

    let open = open.map(ConvId);

    let call = crate::auth::ssr::Call::current()?;
    let Some(identity) = call.identity().await? else {
        return Ok(None);
    };
    let me = identity.user.id;
    let services = &call.state.services;
    let failed = |err: crate::server::store::StoreError| {
        tracing::warn!(%err, "first paint: store read failed");
        ApiError::Internal
    };
    let conversations = services
        .store
        .conversations(me, None)
        .await
        .map_err(failed)?;
    let (mut members, mut events) = (None, Vec::new());
    if let Some(summary) = open.and_then(|id| conversations.iter().find(|c| c.id == id)) {
        let list = services
            .hub
            .member_list(summary.id, crate::protocol::MAX_MEMBERS)
            .await
            .map_err(failed)?;
        members = Some((summary.id, list));
        events = services
            .store
            .events_before(summary.id, Seq(summary.last_seq.0 + 1), RECENT_PAGE)
            .await
            .map_err(failed)?;
    }
    Ok(Some(ChatSnapshot {
        epoch: services.store.epoch().clone(),
        me,
        conversations,
        members,
        events,
    }))
}
