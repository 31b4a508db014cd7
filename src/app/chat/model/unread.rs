//! What the user has not read yet: the unread count and the mentions among the unread, for
//! the sidebar's badges. Whether a message mentions the user is decided once, when the event is
//! stored (Markdown parsed then), so drawing a badge only counts.
//!
//! Part of the pure model: depends only on `protocol` and the Markdown reader.

use std::collections::{BTreeMap, HashMap};

use super::{ChatModel, Part};
use crate::app::chat::markdown;
use crate::protocol::{ConvId, Event, EventBody, Seq};

impl ChatModel {
    /// How many messages from others in `conv` are newer than what the user has read.
    pub fn unread(&self, conv: ConvId) -> usize {
        self.unread_range(conv).map_or(0, |(list, after)| {
            list.range(after..)
                .filter(|(_, e)| {
                    matches!(e.body, EventBody::Message { .. }) && Some(e.from) != self.me
                })
                .count()
        })
    }

    /// How many of those mention the user in their latest text (see
    /// [`markdown::mentions_user`]). An edit that adds a mention to an unread message
    /// counts; one to a message already read does not make it unread again.
    pub fn unread_mentions(&self, conv: ConvId) -> usize {
        let Some((list, after)) = self.unread_range(conv) else {
            return 0;
        };
        let mut latest: HashMap<Seq, Seq> = HashMap::new();
        for (seq, e) in list.range(after..) {
            match &e.body {
                EventBody::Message { .. } if Some(e.from) != self.me => {
                    latest.insert(*seq, *seq);
                }
                EventBody::Edited { target, .. } => {
                    if let Some(text) = latest.get_mut(target) {
                        *text = *seq;
                    }
                }
                _ => {}
            }
        }
        latest
            .values()
            .filter(|text| self.mentioning.contains(&(conv, **text)))
            .count()
    }

    /// Sets the user's username, deciding again which held messages mention them.
    pub fn set_username(&mut self, username: &str) {
        if self.username == username {
            return;
        }
        self.username = username.to_owned();
        self.mentioning.clear();
        let held: Vec<(ConvId, Seq)> = self
            .events
            .iter()
            .flat_map(|(conv, list)| {
                list.iter()
                    .filter(|(_, e)| self.mentions_me(e))
                    .map(|(seq, _)| (*conv, *seq))
            })
            .collect();
        self.mentioning.extend(held);
        self.touch(Part::Events);
    }

    /// Whether `event` is a message or an edit whose text mentions the user.
    fn mentions_me(&self, event: &Event) -> bool {
        let text = match &event.body {
            EventBody::Message { body, .. } | EventBody::Edited { body, .. } => body,
            _ => return false,
        };
        !self.username.is_empty() && markdown::mentions_user(text, &self.username)
    }

    /// Stores `event` at its seq (replacing what was there), scrubbed of deleted text, and
    /// notes whether it mentions the user.
    pub(super) fn store(&mut self, mut event: Event) {
        self.scrub(&mut event);
        if !super::is_annotation(&event.body) {
            self.note_activity(event.conv, event.at);
        }
        let key = (event.conv, event.seq);
        if self.mentions_me(&event) {
            self.mentioning.insert(key);
        } else {
            self.mentioning.remove(&key);
        }
        self.events
            .entry(event.conv)
            .or_default()
            .insert(event.seq, event);
    }

    /// `conv`'s events and the first seq the user has not read.
    fn unread_range(&self, conv: ConvId) -> Option<(&BTreeMap<Seq, Event>, Seq)> {
        let read = self.conversations.iter().find(|c| c.id == conv)?.read_seq;
        Some((self.events.get(&conv)?, Seq(read.0 + 1)))
    }
}
