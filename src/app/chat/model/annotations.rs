//! What a message looks like now: its latest text, whether it was edited or deleted, what it
//! answers, and who reacted with what — folded from the events that came after it.
//!
//! The events are the truth and they are kept by seq, so the fold is idempotent: an event that
//! arrives twice (replay, history, live) is one entry, and a message whose later events arrived
//! first (they are newer, so a page of history brings the message after them) shows its state as
//! soon as it arrives. Pages of history are contiguous back from the newest, so every event about
//! a message held is held too. A deletion also drops the text the page holds: the message and
//! its edits become tombstones in the model, and a copy of the message that arrives later (an
//! older page fetched before the deletion) is stored as a tombstone.
//!
//! Part of the pure model: depends only on `protocol`.

use std::collections::{BTreeMap, BTreeSet};

use super::{ChatModel, Effect, Effects, Part, Pending};
use crate::protocol::{ClientMsgId, ConvId, Event, EventBody, Seq, UserId};

/// One message as it should be shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageState {
    /// The latest text (empty when deleted).
    pub text: String,
    /// Whether an edit replaced the text it was sent with.
    pub edited: bool,
    /// Whether it was deleted: show "message deleted", never a text.
    pub deleted: bool,
    /// The earlier message it answers.
    pub reply_to: Option<Seq>,
    /// Each emoji and who reacted with it (emoji with nobody left are dropped).
    pub reactions: BTreeMap<String, BTreeSet<UserId>>,
    /// Every text it had, oldest first, with the seq that set it (the message's own first).
    pub versions: Vec<(Seq, String)>,
    /// The newest seq that shaped this state: it changes whenever the state does.
    pub revision: Seq,
}

/// Whether `body` is about another event (an edit, a deletion, a reaction, a deleted edit) or
/// of a kind this build does not know: such events shape the messages they name and are not
/// shown as lines of their own.
pub fn is_annotation(body: &EventBody) -> bool {
    body.target().is_some() || matches!(body, EventBody::Unknown)
}

/// The state of every message (and deleted message) in `list`, one conversation's events by
/// seq, after everything `list` holds about it.
pub fn message_states(list: &BTreeMap<Seq, Event>) -> BTreeMap<Seq, MessageState> {
    let mut states: BTreeMap<Seq, MessageState> = BTreeMap::new();
    for (seq, event) in list {
        match &event.body {
            EventBody::Message { body, reply_to, .. } => {
                states.insert(
                    *seq,
                    MessageState {
                        text: body.clone(),
                        reply_to: *reply_to,
                        versions: vec![(*seq, body.clone())],
                        revision: *seq,
                        ..MessageState::default()
                    },
                );
            }
            EventBody::Tombstone { target: None } => {
                states.insert(
                    *seq,
                    MessageState {
                        deleted: true,
                        revision: *seq,
                        ..MessageState::default()
                    },
                );
            }
            body => {
                let Some(state) = body.target().and_then(|t| states.get_mut(&t)) else {
                    continue;
                };
                state.revision = *seq;
                match body {
                    EventBody::Edited { body, .. } if !state.deleted => {
                        state.text.clone_from(body);
                        state.edited = true;
                        state.versions.push((*seq, body.clone()));
                    }
                    EventBody::Deleted { .. } => {
                        *state = MessageState {
                            deleted: true,
                            revision: *seq,
                            ..MessageState::default()
                        };
                    }
                    EventBody::Reacted { emoji, .. } if !state.deleted => {
                        state
                            .reactions
                            .entry(emoji.clone())
                            .or_default()
                            .insert(event.from);
                    }
                    EventBody::Unreacted { emoji, .. } => {
                        if let Some(who) = state.reactions.get_mut(emoji) {
                            who.remove(&event.from);
                            if who.is_empty() {
                                state.reactions.remove(emoji);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    states
}

impl ChatModel {
    /// The message at `seq` of `conv` as it should be shown, if the page holds it.
    pub fn message_state(&self, conv: ConvId, seq: Seq) -> Option<MessageState> {
        let list = self.events.get(&conv)?;
        let mut states = message_states(list);
        states.remove(&seq)
    }

    /// Before `event` is stored: a deletion drops the text of the message it names and of that
    /// message's edits; a message (or edit) already known to be deleted is stored as a
    /// tombstone. So the page never holds a deleted text, whichever arrives first.
    pub(super) fn scrub(&mut self, event: &mut Event) {
        let Some(list) = self.events.get_mut(&event.conv) else {
            return;
        };
        if let EventBody::Deleted { target } = event.body {
            for (seq, other) in list.iter_mut() {
                match other.body {
                    EventBody::Message { .. } if *seq == target => {
                        other.body = EventBody::Tombstone { target: None };
                    }
                    EventBody::Edited { target: of, .. } if of == target => {
                        other.body = EventBody::Tombstone { target: Some(of) };
                    }
                    _ => {}
                }
            }
            return;
        }
        let deleted = |seq: Seq| {
            list.values()
                .any(|e| e.body == EventBody::Deleted { target: seq })
        };
        match event.body {
            EventBody::Message { .. } if deleted(event.seq) => {
                event.body = EventBody::Tombstone { target: None };
            }
            EventBody::Edited { target, .. } if deleted(target) => {
                event.body = EventBody::Tombstone {
                    target: Some(target),
                };
            }
            _ => {}
        }
    }

    /// Posts a message answering the one at `reply_to` (see [`ChatModel::post`]).
    pub fn post_reply(
        &mut self,
        conv: ConvId,
        body: String,
        client_msg_id: ClientMsgId,
        reply_to: Seq,
    ) -> Effects {
        let pending = Pending {
            client_msg_id,
            conv,
            body,
            reply_to: Some(reply_to),
            acked: false,
            failed: None,
        };
        let frame = pending.frame();
        self.outbox.push(pending);
        self.touch(Part::Outbox);
        vec![Effect::Send(frame)]
    }
}
