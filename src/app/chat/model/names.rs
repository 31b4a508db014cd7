//! Display names: what the page calls each user, never an id. Names are learnt wherever the
//! server sends them (member lists, direct conversations, search hits), so a user named where
//! their conversation's member list is not loaded yet still gets their name; one the page has
//! not learnt at all (a newcomer, until the member list refreshes) is "someone".
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Part};
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

    /// The user's own display name, once the page has learnt it.
    pub fn own_name(&self) -> Option<String> {
        self.names.get(&self.me?).cloned()
    }

    /// `user` is now called `name` (a `profile` event as it arrived, or the answer to the
    /// user's own change): every place the page shows their name follows.
    pub(super) fn take_display_name(&mut self, user: UserId, name: &str) {
        self.learn_name(user, name);
        for member in self.members.values_mut().flatten() {
            if member.user == user {
                member.display_name = name.to_owned();
            }
        }
        for c in &mut self.conversations {
            if c.kind == ConvKind::Direct && c.peer == Some(user) {
                c.name = name.to_owned();
            }
        }
        self.touch(Part::Members);
        self.touch(Part::Conversations);
    }

    /// Remembers the display names of `members`.
    pub(super) fn learn_names(&mut self, members: &[Member]) {
        for m in members {
            self.learn_name(m.user, &m.display_name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::hello;
    use super::*;
    use crate::protocol::{ConvSummary, Epoch, Event, EventBody, Seq, ServerFrame};

    const PAT: UserId = UserId(5);
    const ROOM: ConvId = ConvId(2);
    const DIRECT: ConvId = ConvId(3);

    fn summary(id: ConvId, kind: ConvKind, name: &str, peer: Option<UserId>) -> ConvSummary {
        ConvSummary {
            id,
            kind,
            name: name.into(),
            public: true,
            peer,
            last_seq: Seq(0),
            read_seq: Seq(0),
            epoch: Epoch("e".into()),
            notify: Default::default(),
            last_at: 0,
        }
    }

    fn renamed(conv: ConvId, seq: i64, from: UserId, name: &str) -> Event {
        Event {
            conv,
            seq: Seq(seq),
            from,
            at: seq,
            body: EventBody::Profile {
                display_name: name.into(),
            },
        }
    }

    fn model() -> ChatModel {
        let mut chat = ChatModel::default();
        chat.apply(hello(Epoch("e".into())));
        chat.apply(ServerFrame::Conversation(summary(
            ROOM,
            ConvKind::Room,
            "lobby",
            None,
        )));
        chat.apply(ServerFrame::Conversation(summary(
            DIRECT,
            ConvKind::Direct,
            "Pat",
            Some(PAT),
        )));
        chat.apply(ServerFrame::Members {
            conv: ROOM,
            members: [(chat.me.unwrap(), "me", "Me"), (PAT, "pat", "Pat")]
                .map(|(user, username, display_name)| Member {
                    user,
                    username: username.into(),
                    display_name: display_name.into(),
                    online: true,
                })
                .to_vec(),
            more: false,
        });
        chat
    }

    #[test]
    fn a_profile_event_renames_the_person_everywhere_the_page_shows_them() {
        let mut chat = model();
        chat.apply(ServerFrame::Event(renamed(ROOM, 4, PAT, "Pat Reyes")));
        assert_eq!(chat.name_of(ROOM, PAT), "Pat Reyes");
        assert_eq!(chat.name_of(DIRECT, PAT), "Pat Reyes");
        let direct = chat.conversations.iter().find(|c| c.id == DIRECT).unwrap();
        assert_eq!(direct.name, "Pat Reyes");
        // Not a row of its own, and the conversation does not move up for it.
        assert!(super::super::is_annotation(
            &renamed(ROOM, 4, PAT, "x").body
        ));
        assert_eq!(chat.conversations[0].last_at, 0);
    }

    #[test]
    fn an_old_name_in_scrollback_changes_nothing_and_the_answer_renames_me() {
        let mut chat = model();
        chat.apply(ServerFrame::History {
            conv: ROOM,
            events: vec![renamed(ROOM, 1, PAT, "Patricia")],
            more: false,
        });
        assert_eq!(chat.name_of(ROOM, PAT), "Pat");
        assert_eq!(chat.own_name().as_deref(), Some("Me"));
        let saved = chat.profile_saved;
        chat.apply(ServerFrame::Profile {
            display_name: "Me Too".into(),
        });
        assert_eq!(chat.own_name().as_deref(), Some("Me Too"));
        assert_eq!(chat.display_name(ROOM, chat.me.unwrap()), "Me Too");
        assert_eq!(chat.name_of(ROOM, chat.me.unwrap()), "You");
        assert_eq!(chat.profile_saved, saved + 1);
    }
}
