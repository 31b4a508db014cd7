//! Who may reach whom: `block` and `unblock`, and the block checks on direct conversations
//! (`open_direct`, and `send` into one).
//!
//! A block is stored first; then the blocker's devices get the whole list (`blocks`), the
//! pair's presence is hidden from each other at once (an `offline` edge to whichever of them is
//! connected), and the blocked user's pending invitations to the blocker are withdrawn. Every
//! notice goes through the hub to the users' connections on every node.

use super::{Connection, Refusal, refuse};
use crate::{
    protocol::{ConvId, ErrorCode, MAX_BLOCKS, Req, ServerFrame, UserId},
    server::{
        clock::now_ms,
        routing::{Origin, Outgoing},
        store::Blocked,
        wire::encode,
    },
};

impl Connection {
    /// Refuses a target that is this user or no user at all.
    async fn require_other(&self, other: UserId, what: &str) -> Result<(), Refusal> {
        if other == self.user() {
            return Err(refuse(ErrorCode::InvalidRequest, what));
        }
        if !self.store.user_exists(other).await? {
            return Err(refuse(ErrorCode::NotFound, format!("no user {other}")));
        }
        Ok(())
    }

    /// Tells `user`'s connections, here and on every node, that `about` is now `online`.
    fn show_presence(&self, user: UserId, about: UserId, online: bool) {
        let text = encode(&ServerFrame::Presence {
            user: about,
            online,
        });
        self.hub.to_user(user, None, &text, Origin::Local);
    }

    /// Sends this user's whole block list to their other devices, and to this one as the
    /// answer to `req`.
    async fn share_blocks(&self, req: Option<&Req>) -> Result<(), Refusal> {
        let frame = ServerFrame::Blocks {
            users: self.store.blocked_by(self.user()).await?,
        };
        self.share_with_devices(&frame, req);
        Ok(())
    }

    pub(super) async fn block(&self, other: UserId, req: Option<&Req>) -> Result<(), Refusal> {
        self.require_other(other, "you cannot block yourself")
            .await?;
        let me = self.user();
        match self.store.block(me, other, now_ms(), MAX_BLOCKS).await? {
            Blocked::Full => {
                return Err(refuse(
                    ErrorCode::LimitReached,
                    format!("you can block at most {MAX_BLOCKS} users; unblock someone first"),
                ));
            }
            Blocked::Already => {}
            Blocked::Added => {
                // The edges a contact would see when the other goes offline.
                if self.hub.is_online(me) {
                    self.show_presence(other, me, false);
                }
                if self.hub.is_online(other) {
                    self.show_presence(me, other, false);
                }
                for conv in self.store.withdraw_invitations_from(me, other).await? {
                    self.uninvited(me, conv);
                }
            }
        }
        self.share_blocks(req).await
    }

    pub(super) async fn unblock(&self, other: UserId, req: Option<&Req>) -> Result<(), Refusal> {
        self.require_other(other, "you cannot unblock yourself")
            .await?;
        let me = self.user();
        if self.store.unblock(me, other).await? && self.store.contacts(me).await?.contains(&other) {
            if self.hub.is_online(me) {
                self.show_presence(other, me, true);
            }
            if self.hub.is_online(other) {
                self.show_presence(me, other, true);
            }
        }
        self.share_blocks(req).await
    }

    /// Refuses a `send` into a direct conversation whose other member blocks this user.
    /// `members` is the conversation's member count: only a pair can be a direct one.
    pub(super) async fn require_not_blocked(
        &self,
        conv: ConvId,
        members: usize,
    ) -> Result<(), Refusal> {
        if members == 2 && self.store.direct_refuses(conv, self.user()).await? {
            return Err(refuse(
                ErrorCode::Blocked,
                "this user does not accept messages from you",
            ));
        }
        Ok(())
    }

    pub(super) async fn open_direct(&self, other: UserId) -> Result<ConvId, Refusal> {
        self.require_other(other, "a direct conversation needs another user")
            .await?;
        if self.store.blocks(other, self.user()).await? {
            return Err(refuse(
                ErrorCode::Blocked,
                "this user does not accept direct messages from you",
            ));
        }
        let (conv, created) = self.store.open_direct(self.user(), other, now_ms()).await?;
        if created {
            self.hub
                .conversation_created(conv, vec![self.user(), other], Origin::Local);
        } else {
            self.mailbox.push(Outgoing::Added(conv));
        }
        Ok(conv)
    }
}
