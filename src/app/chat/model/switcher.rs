//! The quick switcher's matches: conversations by name, and people the page knows (from member
//! lists) with whom there is no direct conversation yet, best match first.
//!
//! Part of the pure model: depends only on `protocol`.

use super::ChatModel;
use crate::protocol::{ConvId, ConvKind, UserId};

/// At most this many matches are offered.
pub const JUMP_LIMIT: usize = 12;

/// Somewhere the quick switcher can take the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Jump {
    /// A conversation the user is in.
    Conversation {
        /// Which.
        conv: ConvId,
        /// Its name (the other person's, for a direct one).
        name: String,
        /// Room or direct.
        kind: ConvKind,
    },
    /// Someone to start a direct conversation with.
    Person {
        /// Who.
        user: UserId,
        /// Their username.
        username: String,
        /// Their display name.
        display_name: String,
    },
}

/// How well `query` (lower case, not empty) matches `text`: 0 at its start, 1 at the start of
/// a later word, 2 anywhere else; `None` when it does not occur.
fn rank(text: &str, query: &str) -> Option<u8> {
    let text = text.to_lowercase();
    let at = text.find(query)?;
    if at == 0 {
        return Some(0);
    }
    let word_start = text
        .match_indices(query)
        .any(|(i, _)| !text[..i].ends_with(|c: char| c.is_alphanumeric()));
    Some(if word_start { 1 } else { 2 })
}

impl ChatModel {
    /// What `query` finds, best first: by how well it matches (a person's display name or
    /// username), then conversations before people, then the most recently active. An empty
    /// query lists the most recent conversations.
    pub fn jumps(&self, query: &str) -> Vec<Jump> {
        let query = query.trim().to_lowercase();
        let sections = self.sections();
        let mut recent: Vec<_> = sections.rooms.into_iter().chain(sections.direct).collect();
        recent.sort_by(|a, b| b.last_at.cmp(&a.last_at).then(b.id.cmp(&a.id)));
        let mut found: Vec<(u8, Jump)> = Vec::new();
        for c in recent {
            let best = if query.is_empty() {
                Some(0)
            } else {
                rank(&c.name, &query)
            };
            if let Some(best) = best {
                let jump = Jump::Conversation {
                    conv: c.id,
                    name: c.name,
                    kind: c.kind,
                };
                found.push((best * 2, jump));
            }
        }
        if !query.is_empty() {
            let mut people: Vec<_> = self
                .members
                .values()
                .flatten()
                .filter(|m| Some(m.user) != self.me && !self.has_direct_with(m.user))
                .collect();
            people.sort_by(|a, b| {
                a.display_name
                    .cmp(&b.display_name)
                    .then(a.user.cmp(&b.user))
            });
            people.dedup_by_key(|m| m.user);
            for m in people {
                let best = [rank(&m.display_name, &query), rank(&m.username, &query)]
                    .into_iter()
                    .flatten()
                    .min();
                if let Some(best) = best {
                    let jump = Jump::Person {
                        user: m.user,
                        username: m.username.clone(),
                        display_name: m.display_name.clone(),
                    };
                    found.push((best * 2 + 1, jump));
                }
            }
        }
        // Stable: within a rank, the order above (recency; people by name).
        found.sort_by_key(|(rank, _)| *rank);
        found.into_iter().take(JUMP_LIMIT).map(|(_, j)| j).collect()
    }

    /// Whether the user has a direct conversation with `user`.
    fn has_direct_with(&self, user: UserId) -> bool {
        self.conversations
            .iter()
            .any(|c| c.kind == ConvKind::Direct && c.peer == Some(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ConvSummary, Epoch, Member, Seq, ServerFrame};

    fn summary(
        id: i64,
        kind: ConvKind,
        name: &str,
        peer: Option<i64>,
        last_at: i64,
    ) -> ConvSummary {
        ConvSummary {
            id: ConvId(id),
            kind,
            name: name.into(),
            public: true,
            peer: peer.map(UserId),
            last_seq: Seq(0),
            read_seq: Seq(0),
            epoch: Epoch("e".into()),
            notify: Default::default(),
            last_at,
        }
    }

    fn member(user: i64, username: &str, display_name: &str) -> Member {
        Member {
            user: UserId(user),
            username: username.into(),
            display_name: display_name.into(),
            online: false,
        }
    }

    fn model() -> ChatModel {
        let mut chat = ChatModel::default();
        chat.apply(super::super::tests::hello(Epoch("e".into())));
        for s in [
            summary(1, ConvKind::Room, "design-review", None, 10),
            summary(2, ConvKind::Room, "release", None, 30),
            summary(3, ConvKind::Direct, "Pat Reyes", Some(50), 20),
            summary(4, ConvKind::Room, "prerelease", None, 40),
        ] {
            chat.apply(ServerFrame::Conversation(s));
        }
        let me = chat.me.unwrap();
        chat.members.insert(
            ConvId(2),
            vec![
                member(me.0, "me", "Me"),
                member(50, "pat", "Pat Reyes"),
                member(60, "rene_l", "René Laurent"),
                member(70, "quinn", "Quinn"),
            ],
        );
        chat.members
            .insert(ConvId(4), vec![member(60, "rene_l", "René Laurent")]);
        chat
    }

    fn labels(jumps: &[Jump]) -> Vec<String> {
        jumps
            .iter()
            .map(|j| match j {
                Jump::Conversation { name, .. } => name.clone(),
                Jump::Person { username, .. } => format!("@{username}"),
            })
            .collect()
    }

    #[test]
    fn nothing_typed_lists_the_most_recent_conversations() {
        assert_eq!(
            labels(&model().jumps("  ")),
            ["prerelease", "release", "Pat Reyes", "design-review"]
        );
    }

    #[test]
    fn a_match_at_the_start_beats_one_at_a_word_which_beats_one_inside() {
        // "release" starts one name and sits inside "prerelease"; "René" starts with "re".
        assert_eq!(
            labels(&model().jumps("Re")),
            [
                "release",
                "@rene_l",
                "Pat Reyes",
                "design-review",
                "prerelease"
            ]
        );
    }

    #[test]
    fn people_already_in_a_direct_conversation_or_the_user_are_not_offered_twice() {
        let chat = model();
        assert_eq!(labels(&chat.jumps("pat")), ["Pat Reyes"]);
        assert_eq!(labels(&chat.jumps("me")), Vec::<String>::new());
        // Known from two member lists, offered once; found by username too.
        assert_eq!(labels(&chat.jumps("laurent")), ["@rene_l"]);
        assert_eq!(labels(&chat.jumps("QUI")), ["@quinn"]);
    }

    #[test]
    fn at_most_the_limit_is_offered() {
        let mut chat = model();
        for id in 10..40 {
            chat.apply(ServerFrame::Conversation(summary(
                id,
                ConvKind::Room,
                &format!("r{id}"),
                None,
                id,
            )));
        }
        assert_eq!(chat.jumps("r").len(), JUMP_LIMIT);
    }
}
