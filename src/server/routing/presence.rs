//! Presence, written once: a user is online while any of their connections is open, on any
//! node. Going online or offline here is an edge of the tables; who else knows is the peers'
//! answer; and every change of a user's status is announced by each node to its own
//! connections of the user's contacts, after re-checking that it still holds.
//!
//! A block hides presence both ways: the store's contact list leaves such pairs out, and a
//! member list shows them offline.
//!
//! Depends on the tables, the peers trait and the store's contact list; nothing cluster-specific.

use std::collections::HashMap;

use super::{ConnId, Hub, Mailbox};
use crate::{
    protocol::{ConvId, Cursor, Member, Req, ServerFrame, UserId},
    server::{store::StoreError, wire::encode},
};

/// A change of a user's cluster-wide presence, as this node sees it: who, and online or not.
pub type Flip = (UserId, bool);

/// The latest of each user's flips in `flips`, in the order users first appear: a change that
/// is still waiting when a newer one for the same user arrives is replaced by it.
pub fn coalesce(flips: impl IntoIterator<Item = Flip>) -> Vec<Flip> {
    let mut latest: Vec<Flip> = Vec::new();
    let mut at: HashMap<UserId, usize> = HashMap::new();
    for (user, online) in flips {
        match at.get(&user) {
            Some(&i) => latest[i].1 = online,
            None => {
                at.insert(user, latest.len());
                latest.push((user, online));
            }
        }
    }
    latest
}

fn presence(user: UserId, online: bool) -> ServerFrame {
    ServerFrame::Presence { user, online }
}

impl Hub {
    /// Whether `user` has a live connection here or on another node.
    pub fn is_online(&self, user: UserId) -> bool {
        self.tables.is_local(user) || self.peers.online_elsewhere(user)
    }

    /// Which of `users` are online.
    pub fn online_among(&self, users: &[UserId]) -> Vec<UserId> {
        users
            .iter()
            .copied()
            .filter(|u| self.is_online(*u))
            .collect()
    }

    /// Up to `limit` of `conv`'s members by username, each marked online or not as `viewer`
    /// may see them: someone `viewer` blocks or is blocked by always shows offline.
    pub async fn member_list(
        &self,
        conv: ConvId,
        limit: u32,
        viewer: UserId,
    ) -> Result<Vec<Member>, StoreError> {
        let mut members = self.store.member_list(conv, limit).await?;
        let hidden = self.store.blocked_either_way(viewer).await?;
        for member in &mut members {
            member.online = self.is_online(member.user) && !hidden.contains(&member.user);
        }
        Ok(members)
    }

    /// Tells this node's connections of `contacts` that `user` is now `online` or not — if that
    /// is still so: whatever was awaited before (the contact list) may have let a later change
    /// overtake this one.
    pub(super) fn tell_contacts(&self, user: UserId, online: bool, contacts: &[UserId]) {
        if self.is_online(user) == online {
            self.tables
                .ephemeral(contacts, user, &encode(&presence(user, online)));
        }
    }

    /// A connection resumed: starts live delivery (see [`Hub::subscribe`]), tells it which of
    /// its user's contacts are online, and, if the user just came online, tells their contacts'
    /// connections here (other nodes hear of it from their peers and tell their own).
    pub async fn go_online(
        &self,
        id: ConnId,
        mailbox: Mailbox,
        cursors: Vec<Cursor>,
        req: Option<Req>,
    ) -> Result<(), StoreError> {
        let user = mailbox.user;
        let came_online = self.subscribe(id, mailbox.clone(), cursors, req);
        let contacts = self.store.contacts(user).await?;
        for contact in self.online_among(&contacts) {
            mailbox.push_ephemeral(encode(&presence(contact, true)));
        }
        if came_online {
            self.tell_contacts(user, true, &contacts);
        }
        Ok(())
    }

    /// A resumed connection ended: stops live delivery and, if it was the user's last one here,
    /// tells their contacts' connections here that they went offline (unless they are still
    /// online elsewhere or already back).
    pub async fn go_offline(&self, id: ConnId) {
        let Some(user) = self.unsubscribe(id) else {
            return;
        };
        match self.store.contacts(user).await {
            Ok(contacts) => self.tell_contacts(user, false, &contacts),
            Err(err) => tracing::warn!(%err, "cannot announce going offline"),
        }
    }

    /// Tells this node's connections of changes in users' cluster-wide presence (cluster mode:
    /// a peer's user came or went, or a peer died).
    pub async fn announce(&self, flips: Vec<Flip>) {
        for (user, online) in flips {
            if self.tables.connections() == 0 {
                // Nobody here to tell.
                return;
            }
            match self.store.contacts(user).await {
                Ok(contacts) => self.tell_contacts(user, online, &contacts),
                Err(err) => tracing::warn!(%err, "cannot announce presence"),
            }
        }
    }
}
