//! Notification settings: `notify` (a conversation's level and mute) and `do_not_disturb`.
//!
//! Each is stored first, then every device of the user, on every node, gets the new setting;
//! the one that asked gets it as the answer to its `req`. Both are charged to the changes
//! budget in `admit`.

use super::{Connection, Refusal, refuse};
use crate::{
    protocol::{ConvId, ErrorCode, NotifyLevel, NotifySettings, Req, ServerFrame},
    server::{routing::Origin, wire::encode},
};

impl Connection {
    /// Tells this user's other devices `frame`, and this one as the answer to `req`.
    fn share_setting(&self, frame: &ServerFrame, req: Option<&Req>) {
        self.hub
            .to_user(self.user(), Some(self.id), &encode(frame), Origin::Local);
        self.reply(frame, req);
    }

    pub(super) async fn notify(
        &self,
        conv: ConvId,
        settings: NotifySettings,
        req: Option<&Req>,
    ) -> Result<(), Refusal> {
        self.require_member(conv).await?;
        // The membership is checked again by the update itself: one that ended meanwhile
        // writes nothing.
        if !self.store.set_notify(self.user(), conv, settings).await? {
            return Err(refuse(
                ErrorCode::Forbidden,
                format!("you are not in conversation {conv}"),
            ));
        }
        let frame = ServerFrame::Notify {
            conv,
            level: settings.level,
            muted: settings.muted,
        };
        self.share_setting(&frame, req);
        Ok(())
    }

    pub(super) async fn do_not_disturb(&self, on: bool, req: Option<&Req>) -> Result<(), Refusal> {
        self.store.set_do_not_disturb(self.user(), on).await?;
        self.share_setting(&ServerFrame::DoNotDisturb { on }, req);
        Ok(())
    }
}

/// The settings a `notify` frame names.
pub(super) fn settings(level: NotifyLevel, muted: bool) -> NotifySettings {
    NotifySettings { level, muted }
}
