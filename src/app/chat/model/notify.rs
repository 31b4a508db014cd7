//! Notifications: the user's settings (per conversation, and "do not disturb"), which new
//! messages should notify ([`protocol::should_notify`], decided here, shown by the page), and
//! what a notification says.
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Effect, Effects, Part};
use crate::protocol::{
    self, ClientFrame, ConvId, ConvKind, Event, EventBody, NotifyLevel, NotifySettings, Seq, UserId,
};

/// At most this many notifications wait for a name; an older one is shown as it is.
pub(super) const MAX_UNNAMED: usize = 16;

/// The longest notification text, in characters (a notification is a glance, not a reader).
const NOTIFICATION_CHARS: usize = 160;

/// What one notification says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Who wrote, and where: "Ann" in a direct conversation, "Ann in general" in a room.
    pub title: String,
    /// The message's text, shortened.
    pub body: String,
    /// Where it goes when clicked.
    pub conv: ConvId,
}

impl ChatModel {
    /// `conv`'s settings (the defaults for a conversation not held).
    pub fn notify_settings(&self, conv: ConvId) -> NotifySettings {
        self.conversations
            .iter()
            .find(|c| c.id == conv)
            .map(|c| c.notify)
            .unwrap_or_default()
    }

    /// Takes the server's settings for `conv`.
    pub(super) fn take_notify(&mut self, conv: ConvId, level: NotifyLevel, muted: bool) {
        if let Some(c) = self.summary_mut(conv) {
            c.notify = NotifySettings { level, muted };
        }
        self.touch(Part::Conversations);
    }

    /// Takes the server's "do not disturb".
    pub(super) fn take_do_not_disturb(&mut self, on: bool) {
        self.do_not_disturb = on;
        self.touch(Part::Settings);
    }

    /// The user sets `conv`'s notification settings: shown at once, sent to the server (whose
    /// answer, and every other device, confirms them).
    pub fn set_notify(&mut self, conv: ConvId, settings: NotifySettings) -> Effects {
        self.take_notify(conv, settings.level, settings.muted);
        vec![Effect::Send(ClientFrame::Notify {
            conv,
            level: settings.level,
            muted: settings.muted,
        })]
    }

    /// The user turns "do not disturb" on or off.
    pub fn set_do_not_disturb(&mut self, on: bool) -> Effects {
        self.take_do_not_disturb(on);
        vec![Effect::Send(ClientFrame::DoNotDisturb { on })]
    }

    /// Whether `event`, arriving live and not held before, should notify the user: a message
    /// from someone else, not yet read, that the settings let through.
    pub(super) fn notifies(&self, event: &Event, held_before: bool) -> bool {
        if !self.live || held_before || Some(event.from) == self.me {
            return false;
        }
        if !matches!(event.body, EventBody::Message { .. }) {
            return false;
        }
        let Some(summary) = self.conversations.iter().find(|c| c.id == event.conv) else {
            return false;
        };
        event.seq > summary.read_seq
            && protocol::should_notify(
                summary.kind,
                summary.notify,
                self.do_not_disturb,
                self.mentioning.contains(&(event.conv, event.seq)),
            )
    }

    /// The notification for the message at `seq` of `conv` from `from`: shown now when the
    /// page knows the sender's name, else once the conversation's member list (asked for
    /// here, once per conversation) names them.
    pub(super) fn notify_when_named(&mut self, conv: ConvId, seq: Seq, from: UserId) -> Effects {
        if self.knows_name(conv, from) {
            return vec![Effect::Notify { conv, seq }];
        }
        let mut effects = Vec::new();
        if self.unnamed.len() >= MAX_UNNAMED {
            let (conv, seq) = self.unnamed.remove(0);
            effects.push(Effect::Notify { conv, seq });
        }
        if !self.unnamed.iter().any(|(c, _)| *c == conv) {
            effects.push(Effect::Send(ClientFrame::Members { conv }));
        }
        self.unnamed.push((conv, seq));
        effects
    }

    /// `conv`'s member list arrived: the notifications waiting for its names are due.
    pub(super) fn named(&mut self, conv: ConvId) -> Effects {
        let mut due = Vec::new();
        self.unnamed.retain(|&(c, seq)| {
            let waiting = c == conv;
            if waiting {
                due.push(Effect::Notify { conv, seq });
            }
            !waiting
        });
        due
    }

    /// What the notification for the message at `seq` of `conv` says, if it is still held.
    pub fn notification(&self, conv: ConvId, seq: Seq) -> Option<Notification> {
        let event = self.events.get(&conv)?.get(&seq)?;
        let EventBody::Message { body, .. } = &event.body else {
            return None;
        };
        let summary = self.conversations.iter().find(|c| c.id == conv)?;
        let from = self.name_of(conv, event.from);
        let title = match summary.kind {
            ConvKind::Direct => from,
            ConvKind::Room => format!("{from} in {}", summary.name),
        };
        let mut text: String = body.chars().take(NOTIFICATION_CHARS).collect();
        if body.chars().count() > NOTIFICATION_CHARS {
            text.push('…');
        }
        Some(Notification {
            title,
            body: text,
            conv,
        })
    }

    /// How many unread messages count in the window title and favicon: every unread message
    /// of a conversation that is not muted, and the mentions of one that is.
    pub fn unread_total(&self) -> usize {
        self.conversations
            .iter()
            .map(|c| {
                if c.notify.muted {
                    self.unread_mentions(c.id)
                } else {
                    self.unread(c.id)
                }
            })
            .sum()
    }
}
