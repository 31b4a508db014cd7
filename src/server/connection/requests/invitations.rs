//! Invitations that wait for an answer: `invite` (a pending invitation, told to the invitee's
//! devices), `accept` (the invitee becomes a member: an `invited` event in the room's seq) and
//! `decline` (nothing is written to the room; the inviter is not told). Invitations vanish when
//! the invitee joins otherwise, and when the inviter leaves or is removed (`rooms.rs` calls
//! [`Connection::withdraw`]).
//!
//! Authorised like the old direct add: the inviter must be a member of the room (any member,
//! public or private room). Refused when the invitee blocks the inviter (`blocked`, which tells
//! no more than `open_direct` already does), and bounded per invitee and per room.

use super::{Connection, Refusal, refuse};
use crate::{
    protocol::{
        ConvId, ErrorCode, EventBody, MAX_INVITATIONS_PER_ROOM, MAX_INVITATIONS_PER_USER,
        ServerFrame, UserId,
    },
    server::{
        clock::now_ms,
        routing::{Membership, Origin, Outgoing},
        store::{InvitationCaps, Invited},
        wire::encode,
    },
};

/// The bounds on pending invitations.
const CAPS: InvitationCaps = InvitationCaps {
    per_user: MAX_INVITATIONS_PER_USER,
    per_room: MAX_INVITATIONS_PER_ROOM,
};

impl Connection {
    /// Tells `user`'s devices that their invitation to `conv` is no more.
    pub(super) fn uninvited(&self, user: UserId, conv: ConvId) {
        let text = encode(&ServerFrame::Uninvited { conv });
        self.hub.to_user(user, None, &text, Origin::Local);
    }

    /// `inviter` left `conv` or was removed: their pending invitations to it are withdrawn.
    pub(super) async fn withdraw(&self, conv: ConvId, inviter: UserId) -> Result<(), Refusal> {
        for invitee in self.store.withdraw_invitations(conv, inviter).await? {
            self.uninvited(invitee, conv);
        }
        Ok(())
    }

    /// This user became a member of `conv` some other way: an invitation they had is spent.
    pub(super) async fn joined_otherwise(&self, conv: ConvId) -> Result<(), Refusal> {
        if self
            .store
            .take_invitation(conv, self.user())
            .await?
            .is_some()
        {
            self.uninvited(self.user(), conv);
        }
        Ok(())
    }

    pub(super) async fn invite(&self, conv: ConvId, user: UserId) -> Result<(), Refusal> {
        self.room(conv).await?;
        self.require_member(conv).await?;
        if !self.store.user_exists(user).await? {
            return Err(refuse(ErrorCode::NotFound, format!("no user {user}")));
        }
        if self.hub.is_member(conv, user).await? {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                format!("user {user} is already a member"),
            ));
        }
        if self.store.blocks(user, self.user()).await? {
            return Err(refuse(
                ErrorCode::Blocked,
                "this user does not accept invitations from you",
            ));
        }
        match self
            .store
            .invite(conv, user, self.user(), now_ms(), CAPS)
            .await?
        {
            Invited::Pending(invitation) => {
                let text = encode(&ServerFrame::Invitation(invitation));
                self.hub.to_user(user, None, &text, Origin::Local);
                Ok(())
            }
            // Idempotent: the invitee already has it.
            Invited::Already => Ok(()),
            Invited::InviteeFull => Err(refuse(
                ErrorCode::LimitReached,
                format!("user {user} has {MAX_INVITATIONS_PER_USER} invitations waiting"),
            )),
            Invited::RoomFull => Err(refuse(
                ErrorCode::LimitReached,
                format!("room {conv} has {MAX_INVITATIONS_PER_ROOM} invitations waiting"),
            )),
        }
    }

    pub(super) async fn accept(&self, conv: ConvId) -> Result<(), Refusal> {
        let me = self.user();
        let Some(inviter) = self.store.pending_inviter(conv, me).await? else {
            if self.hub.is_member(conv, me).await? {
                self.mailbox.push(Outgoing::Added(conv));
                return Ok(());
            }
            return Err(refuse(
                ErrorCode::NotFound,
                format!("no invitation to room {conv}"),
            ));
        };
        let (store, hub, _, _) = self.owned();
        let body = EventBody::Invited { user: me };
        let added = self
            .detached(super::rooms::change_member(
                store,
                hub,
                Membership::Added,
                conv,
                me,
                inviter,
                body,
            ))
            .await?;
        if !added {
            // A member already (joined meanwhile): still answer.
            self.mailbox.push(Outgoing::Added(conv));
        }
        // Taken only once the membership is stored: a crash between the two leaves an
        // invitation a member can accept again, never a lost one.
        self.joined_otherwise(conv).await
    }

    pub(super) async fn decline(&self, conv: ConvId) -> Result<(), Refusal> {
        if self
            .store
            .take_invitation(conv, self.user())
            .await?
            .is_none()
        {
            return Err(refuse(
                ErrorCode::NotFound,
                format!("no invitation to room {conv}"),
            ));
        }
        self.uninvited(self.user(), conv);
        Ok(())
    }
}
