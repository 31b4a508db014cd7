//! The server's side of the chat's first paint: [`ChatSource`] for the app state, the one way
//! the app reads the chat while rendering on the server.
//!
//! A thin adapter over the store and the hub: no rules of its own (membership is the store's
//! answer), and nothing else under `server` uses it.

use super::{AppState, store::StoreError};
use crate::{
    app::chat::{ChatSnapshot, first_paint::ChatSource},
    auth::ApiError,
    protocol::{ConvId, MAX_MEMBERS, RECENT_PAGE, Seq, UserId},
};

impl ChatSource for AppState {
    async fn chat_snapshot(
        &self,
        me: UserId,
        open: Option<ConvId>,
    ) -> Result<ChatSnapshot, ApiError> {
        let services = &self.services;
        let failed = |err: StoreError| {
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
                .member_list(summary.id, MAX_MEMBERS)
                .await
                .map_err(failed)?;
            members = Some((summary.id, list));
            events = services
                .store
                .events_before(summary.id, Seq(summary.last_seq.0 + 1), RECENT_PAGE)
                .await
                .map_err(failed)?;
        }
        Ok(ChatSnapshot {
            epoch: services.store.epoch().clone(),
            me,
            conversations,
            members,
            events,
        })
    }
}
