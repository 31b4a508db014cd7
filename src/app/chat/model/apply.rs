//! [`ChatModel::apply`]: what each frame from the server does to the model.
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Effect, Effects, Part};
use crate::protocol::{ConvId, ConvKind, Event, EventBody, ServerFrame, UserId};

impl ChatModel {
    /// Applies one frame from the server to the model.
    pub fn apply(&mut self, frame: ServerFrame) -> Effects {
        match frame {
            ServerFrame::Hello { user, epoch, .. } => {
                let effects = self.adopt_epoch(epoch);
                self.forget_consent();
                self.live = false;
                self.take_do_not_disturb(false);
                self.me = Some(user);
                self.touch(Part::Me);
                return effects;
            }
            ServerFrame::Conversation(summary) => {
                let effects = self.arrived(&summary);
                if let (ConvKind::Direct, Some(peer)) = (summary.kind, summary.peer) {
                    self.learn_name(peer, &summary.name);
                }
                match self.summary_mut(summary.id) {
                    Some(existing) => {
                        let last_at = existing.last_at.max(summary.last_at);
                        *existing = summary;
                        existing.last_at = last_at;
                    }
                    None => self.conversations.push(summary),
                }
                self.touch(Part::Conversations);
                return effects;
            }
            ServerFrame::Gone { conv } => {
                self.conversations.retain(|c| c.id != conv);
                self.touch(Part::Conversations);
            }
            ServerFrame::Ack { client_msg_id, .. } => {
                if let Some(p) = self
                    .outbox
                    .iter_mut()
                    .find(|p| p.client_msg_id == client_msg_id)
                {
                    p.acked = true;
                }
                self.touch(Part::Outbox);
            }
            ServerFrame::Event(event) => return self.take_event(event),
            ServerFrame::ReadState { conv, seq } => {
                if let Some(c) = self.summary_mut(conv) {
                    c.read_seq = c.read_seq.max(seq);
                }
                self.touch(Part::Conversations);
            }
            ServerFrame::Typing { conv, user } => {
                self.typing_clock += 1;
                let stamp = self.typing_clock;
                self.typing.insert(conv, (user, stamp));
                self.touch(Part::Typing);
                return vec![Effect::ExpireTyping { conv, stamp }];
            }
            ServerFrame::Members {
                conv,
                members,
                more,
            } => {
                if more {
                    self.crowded.insert(conv);
                } else {
                    self.crowded.remove(&conv);
                }
                for m in &members {
                    self.set_online(m.user, m.online);
                }
                self.learn_names(&members);
                if !more {
                    self.count_members(conv, members.len());
                }
                self.members.insert(conv, members);
                self.touch(Part::Crowded);
                self.touch(Part::Members);
                return self.named(conv);
            }
            ServerFrame::History { conv, events, .. } => {
                self.loading.remove(&conv);
                for event in events.into_iter().filter(|e| e.conv == conv) {
                    self.store(event);
                }
                self.touch(Part::Loading);
                self.touch(Part::Events);
            }
            ServerFrame::Presence { user, online } => self.set_online(user, online),
            ServerFrame::Blocks { users } => self.take_blocks(users),
            ServerFrame::Notify { conv, level, muted } => self.take_notify(conv, level, muted),
            ServerFrame::DoNotDisturb { on } => self.take_do_not_disturb(on),
            ServerFrame::Profile { display_name } => {
                if let Some(me) = self.me {
                    self.take_display_name(me, &display_name);
                }
                self.profile_saved += 1;
                self.touch(Part::Me);
            }
            ServerFrame::Synced {} => self.live = true,
            ServerFrame::Invitation(invitation) => self.take_invitation(invitation),
            ServerFrame::Uninvited { conv } => self.drop_invitation(conv),
            ServerFrame::Rooms {
                rooms,
                query,
                after,
                next,
            } => self.take_rooms(rooms, query, after, next),
            ServerFrame::SearchResults {
                text,
                terms,
                hits,
                page,
                next,
            } => {
                for hit in &hits {
                    self.learn_name(hit.from, &hit.from_name);
                }
                self.take_search_results(text, terms, hits, page, next);
            }
            ServerFrame::Error {
                code,
                message,
                client_msg_id,
                refused,
                ..
            } => self.refused(code, message, client_msg_id, refused),
            _ => {}
        }
        Vec::new()
    }

    /// One event: stored at its seq (a repeat replaces the same event), and what it says
    /// about the outbox, the conversation's name, its members and who is typing.
    fn take_event(&mut self, event: Event) -> Effects {
        let mut effects = Vec::new();
        if let EventBody::Message { client_msg_id, .. } = &event.body
            && Some(event.from) == self.me
        {
            self.outbox.retain(|p| &p.client_msg_id != client_msg_id);
            self.touch(Part::Outbox);
        }
        if let EventBody::Profile { display_name } = &event.body {
            self.take_display_name(event.from, display_name);
        }
        if let EventBody::Renamed { name } = &event.body {
            if let Some(c) = self.summary_mut(event.conv) {
                c.name = name.clone();
            }
            self.touch(Part::Conversations);
        }
        if matches!(
            event.body,
            EventBody::Joined {}
                | EventBody::Invited { .. }
                | EventBody::Left {}
                | EventBody::Removed { .. }
        ) && self.members.contains_key(&event.conv)
        {
            effects.extend(self.refresh_members(event.conv));
        }
        if matches!(event.body, EventBody::Message { .. }) {
            if self
                .typing
                .get(&event.conv)
                .is_some_and(|(u, _)| *u == event.from)
            {
                self.typing.remove(&event.conv);
            }
            self.touch(Part::Typing);
        }
        let (conv, seq) = (event.conv, event.seq);
        let held = self
            .events
            .get(&conv)
            .is_some_and(|list| list.contains_key(&seq));
        self.store(event);
        self.touch(Part::Events);
        let due = self
            .events
            .get(&conv)
            .and_then(|list| list.get(&seq))
            .filter(|event| self.notifies(event, held))
            .map(|event| event.from);
        if let Some(from) = due {
            effects.extend(self.notify_when_named(conv, seq, from));
        }
        effects
    }

    /// Records whether `user` is online.
    fn set_online(&mut self, user: UserId, online: bool) {
        if online {
            self.online.insert(user);
        } else {
            self.online.remove(&user);
        }
        self.touch(Part::Online);
    }

    /// The typing notice numbered `stamp` has shown long enough: cleared, unless a newer one
    /// replaced it.
    pub fn expire_typing(&mut self, conv: ConvId, stamp: u64) {
        if self.typing.get(&conv).is_some_and(|(_, n)| *n == stamp) {
            self.typing.remove(&conv);
        }
        self.touch(Part::Typing);
    }
}
