//! Display names: what the page calls each user, never an id. Names are learnt wherever the
//! server sends them (member lists, direct conversations, search hits), so a user named where
//! their conversation's member list is not loaded yet still gets their name; one the page has
//! not learnt at all (a newcomer, until the member list refreshes) is "someone".
//!
//! Part of the pure model: depends only on `protocol`.

use super::ChatModel;
use crate::protocol::{ConvId, ConvKind, Member, UserId};

impl ChatModel {
    /// A display name for `user` in `conv`.
    pub fn name_of(&self, conv: ConvId, user: UserId) -> String {
        if Some(user) == self.me {
            return "You".into();
        }
        let peer = self
            .conversations
            .iter()
            .find(|c| c.id == conv && c.kind == ConvKind::Direct && c.peer == Some(user));
        if let Some(c) = peer {
            return c.name.clone();
        }
        self.members
            .get(&conv)
            .and_then(|members| members.iter().find(|m| m.user == user))
            .map(|m| m.display_name.clone())
            .or_else(|| self.names.get(&user).cloned())
            .unwrap_or_else(|| "someone".into())
    }

    /// `user`'s display name as others see it: for the user themself too (where
    /// [`Self::name_of`] says "You"), once the page has learnt it.
    pub fn display_name(&self, conv: ConvId, user: UserId) -> String {
        match self.names.get(&user) {
            Some(name) if Some(user) == self.me => name.clone(),
            _ => self.name_of(conv, user),
        }
    }

    /// Whether the page knows a name for `user` in `conv` (else [`Self::name_of`] says
    /// "someone").
    pub(super) fn knows_name(&self, conv: ConvId, user: UserId) -> bool {
        self.name_of(conv, user) != "someone" || self.names.contains_key(&user)
    }

    /// Remembers `name` as `user`'s display name.
    pub(super) fn learn_name(&mut self, user: UserId, name: &str) {
        if self.names.get(&user).is_none_or(|known| known != name) {
            self.names.insert(user, name.to_owned());
        }
    }

    /// Remembers the display names of `members`.
    pub(super) fn learn_names(&mut self, members: &[Member]) {
        for m in members {
            self.learn_name(m.user, &m.display_name);
        }
    }
}
