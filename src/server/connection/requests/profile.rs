//! `set_profile`: a user changes their display name.
//!
//! The name is checked as registration checks it, stored with a `profile` event in every
//! conversation of the user (one transaction, see `Store::set_display_name`), and each event
//! is published to its conversation like any other; the user's devices also get `profile`
//! (the one that asked, as the answer to its `req`), so a user in no conversation still hears
//! it. Charged to the profiles budget in `admit` (the costliest frame: one write per
//! conversation).

use super::{Connection, Refusal, refuse};
use crate::{
    auth,
    protocol::{ErrorCode, Req, ServerFrame},
    server::{clock::now_ms, routing::Origin, wire::encode},
};

impl Connection {
    pub(super) async fn set_profile(
        &self,
        display_name: String,
        req: Option<&Req>,
    ) -> Result<(), Refusal> {
        // An empty name is the username again (the store knows it).
        let name = auth::display_name(&display_name, "")
            .map_err(|e| refuse(ErrorCode::InvalidRequest, e.to_string()))?;
        let (store, hub, me, _) = self.owned();
        let stored = self
            .detached(async move {
                let Some((stored, events)) = store.set_display_name(me, &name, now_ms()).await?
                else {
                    return Err(refuse(ErrorCode::NotFound, "no such user"));
                };
                for event in events {
                    let text = encode(&ServerFrame::Event(event.clone()));
                    hub.publish(event.conv, event.seq, &text, Origin::Local)
                        .await?;
                }
                Ok(stored)
            })
            .await?;
        self.share_with_devices(
            &ServerFrame::Profile {
                display_name: stored,
            },
            req,
        );
        Ok(())
    }
}
