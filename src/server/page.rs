//! The server's side of rendering the app: the page shell with this response's CSP nonce, and
//! [`ChatSource`] for the app state, the one way the app reads the chat while rendering on the
//! server. The app never names `crate::server`: what it needs from the server comes through
//! here.
//!
//! Thin adapters: no rules of their own (the nonce is `web::headers`' policy, membership the
//! store's answer); nothing else under `server` but the router uses them.

use leptos::{config::LeptosOptions, prelude::IntoView};

use super::{state::AppState, store::StoreError, web::headers::adopt_nonce};
use crate::{
    app::chat::{ChatSnapshot, first_paint::ChatSource},
    auth::ApiError,
    protocol::{ConvId, MAX_MEMBERS, RECENT_PAGE, Seq, UserId},
};

/// The HTML document around the app ([`crate::app::shell`]), rendered with this response's
/// nonce: adopted before the shell renders its hydration script.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    adopt_nonce();
    crate::app::shell(options)
}

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
                .member_list(summary.id, MAX_MEMBERS, me)
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
            // The caller's own, filled in by `first_paint`, which knows who is calling.
            username: String::new(),
            conversations,
            members,
            events,
        })
    }
}
