//! Notification settings: `notify` (a conversation's level and mute) and `do_not_disturb`.
//!
//! Each is stored first, then every device of the user, on every node, gets the new setting;
//! the one that asked gets it as the answer to its `req`. Both are charged to the changes
//! budget in `admit`.

use super::{Connection, Refusal, refuse};
use crate::protocol::{ConvId, ErrorCode, NotifySettings, Req, ServerFrame};

impl Connection {
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
        self.share_with_devices(&frame, req);
        Ok(())
    }

    pub(super) async fn do_not_disturb(&self, on: bool, req: Option<&Req>) -> Result<(), Refusal> {
        self.store.set_do_not_disturb(self.user(), on).await?;
        self.share_with_devices(&ServerFrame::DoNotDisturb { on }, req);
        Ok(())
    }
}
