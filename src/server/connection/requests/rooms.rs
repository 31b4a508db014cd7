//! Room and membership changes: create, join, leave, remove, rename (invitations are in
//! `invitations.rs`).
//!
//! Each change is an event in the room's own sequence: stored first, then announced by the hub.
//! Membership changes and renames run on a task of their own (`detached`), so a reader dropped
//! halfway never leaves the hub's tables behind the store.

use std::sync::Arc;

use super::{Connection, Refusal, refuse};
use crate::{
    protocol::{ConvId, ErrorCode, EventBody, MAX_ROOM_NAME_CHARS, ServerFrame, UserId},
    server::{
        clock::now_ms,
        routing::{Hub, MemberChange, Membership, Origin, Outgoing},
        store::{RoomInfo, Store},
        wire::encode,
    },
};

/// Stores a membership change (`body` at the room's next seq) and announces it; `false` if
/// there was nothing to change (already a member, or not one).
pub(super) async fn change_member(
    store: Store,
    hub: Arc<Hub>,
    membership: Membership,
    conv: ConvId,
    user: UserId,
    from: UserId,
    body: EventBody,
) -> Result<bool, Refusal> {
    let at = now_ms();
    let stored = match membership {
        Membership::Added => store.add_member(conv, user, from, body, at).await?,
        Membership::Removed => store.remove_member(conv, user, from, body, at).await?,
    };
    let Some(event) = stored else {
        return Ok(false);
    };
    let text = encode(&ServerFrame::Event(event.clone()));
    let change = MemberChange {
        membership,
        conv,
        user,
        seq: event.seq,
        text: &text,
    };
    hub.member_changed(change, Origin::Local).await?;
    Ok(true)
}

/// Stores a membership removal and announces it; refused if `user` is not a member.
async fn remove_member(
    store: Store,
    hub: Arc<Hub>,
    conv: ConvId,
    user: UserId,
    from: UserId,
    body: EventBody,
) -> Result<(), Refusal> {
    if change_member(store, hub, Membership::Removed, conv, user, from, body).await? {
        Ok(())
    } else {
        Err(refuse(
            ErrorCode::NotFound,
            format!("user {user} is not a member"),
        ))
    }
}

/// A room name, trimmed, or the refusal saying what is wrong with it.
fn room_name(name: &str) -> Result<&str, Refusal> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_ROOM_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            format!("a room name is 1 to {MAX_ROOM_NAME_CHARS} printable characters"),
        ));
    }
    Ok(name)
}

impl Connection {
    pub(super) async fn create_room(&self, name: String, public: bool) -> Result<ConvId, Refusal> {
        let name = room_name(&name)?;
        let event = self
            .store
            .create_room(self.user(), name, public, now_ms())
            .await?;
        self.hub
            .conversation_created(event.conv, vec![self.user()], Origin::Local);
        Ok(event.conv)
    }

    /// The room `conv`, or `not_found`.
    pub(super) async fn room(&self, conv: ConvId) -> Result<RoomInfo, Refusal> {
        self.store
            .room(conv)
            .await?
            .ok_or_else(|| refuse(ErrorCode::NotFound, format!("no room {conv}")))
    }

    /// Refuses unless `conv` is a room this user is in and owns; `refusal` says what only
    /// the owner may do.
    async fn require_owner(&self, conv: ConvId, refusal: &str) -> Result<(), Refusal> {
        let room = self.room(conv).await?;
        self.require_member(conv).await?;
        if room.owner == self.user() {
            Ok(())
        } else {
            Err(refuse(ErrorCode::Forbidden, refusal))
        }
    }

    pub(super) async fn join(&self, conv: ConvId) -> Result<(), Refusal> {
        let room = self.room(conv).await?;
        if self.hub.is_member(conv, self.user()).await? {
            self.mailbox.push(Outgoing::Added(conv));
            return Ok(());
        }
        if !room.public {
            return Err(refuse(
                ErrorCode::Forbidden,
                "this room is private; ask to be invited",
            ));
        }
        let (store, hub, me, _) = self.owned();
        let joined = self
            .detached(change_member(
                store,
                hub,
                Membership::Added,
                conv,
                me,
                me,
                EventBody::Joined {},
            ))
            .await?;
        if !joined {
            // Someone else's request added this user meanwhile: still answer.
            self.mailbox.push(Outgoing::Added(conv));
        }
        self.joined_otherwise(conv).await
    }

    pub(super) async fn leave(&self, conv: ConvId) -> Result<(), Refusal> {
        self.room(conv).await?;
        self.require_member(conv).await?;
        let (store, hub, me, _) = self.owned();
        self.detached(remove_member(store, hub, conv, me, me, EventBody::Left {}))
            .await?;
        self.withdraw(conv, me).await
    }

    pub(super) async fn remove(&self, conv: ConvId, user: UserId) -> Result<(), Refusal> {
        self.require_owner(conv, "only the room's owner removes members")
            .await?;
        if user == self.user() {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "use leave to leave a room",
            ));
        }
        let (store, hub, me, _) = self.owned();
        self.detached(remove_member(
            store,
            hub,
            conv,
            user,
            me,
            EventBody::Removed { user },
        ))
        .await?;
        self.withdraw(conv, user).await
    }

    pub(super) async fn rename(&self, conv: ConvId, name: String) -> Result<(), Refusal> {
        self.require_owner(conv, "only the room's owner renames it")
            .await?;
        let name = room_name(&name)?.to_owned();
        let (store, hub, me, _) = self.owned();
        self.detached(async move {
            let event = store.rename_room(conv, me, &name, now_ms()).await?;
            let text = encode(&ServerFrame::Event(event.clone()));
            hub.publish(conv, event.seq, &text, Origin::Local).await?;
            Ok(())
        })
        .await
    }
}
