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
    body.target().is_some() || matches!(body, EventBody::Unknown | EventBody::Profile { .. })
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
        // A deletion comes after what it deletes: only later seqs are looked at, so a live
        // message (the newest) costs nothing.
        let deleted = |seq: Seq| {
            list.range(seq.next()..)
                .any(|(_, e)| e.body == EventBody::Deleted { target: seq })
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

    /// Posts a message (answering the one at `reply_to`, if any): into the outbox (shown as
    /// "sending") and to the server.
    pub fn post_answering(
        &mut self,
        conv: ConvId,
        body: String,
        client_msg_id: ClientMsgId,
        reply_to: Option<Seq>,
    ) -> Effects {
        let pending = Pending {
            client_msg_id,
            conv,
            body,
            reply_to,
            acked: false,
            failed: None,
        };
        let frame = pending.frame();
        self.outbox.push(pending);
        self.touch(Part::Outbox);
        vec![Effect::Send(frame)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ConvKind, ConvSummary, Epoch, ServerFrame};

    const ME: UserId = UserId(1);
    const PEER: UserId = UserId(2);
    const ROOM: ConvId = ConvId(10);

    fn event(seq: i64, from: UserId, body: EventBody) -> Event {
        Event {
            conv: ROOM,
            seq: Seq(seq),
            from,
            at: seq,
            body,
        }
    }

    fn message(seq: i64, from: UserId, body: &str, reply_to: Option<i64>) -> Event {
        let body = EventBody::Message {
            client_msg_id: ClientMsgId(format!("m{seq}")),
            body: body.into(),
            reply_to: reply_to.map(Seq),
        };
        event(seq, from, body)
    }

    fn edited(seq: i64, target: i64, body: &str) -> Event {
        let body = EventBody::Edited {
            target: Seq(target),
            body: body.into(),
        };
        event(seq, PEER, body)
    }

    fn reacted(seq: i64, from: UserId, target: i64, emoji: &str, on: bool) -> Event {
        let (target, emoji) = (Seq(target), emoji.to_owned());
        let body = if on {
            EventBody::Reacted { target, emoji }
        } else {
            EventBody::Unreacted { target, emoji }
        };
        event(seq, from, body)
    }

    fn greeted() -> ChatModel {
        let mut chat = ChatModel::default();
        chat.apply(ServerFrame::Hello {
            protocol: crate::protocol::PROTOCOL_VERSION,
            server_version: "test".into(),
            user: ME,
            heartbeat_ms: 20_000,
            epoch: Epoch("a".into()),
        });
        chat.apply(ServerFrame::Conversation(ConvSummary {
            id: ROOM,
            kind: ConvKind::Room,
            name: "general".into(),
            public: true,
            peer: None,
            last_seq: Seq(0),
            read_seq: Seq(0),
            epoch: Epoch("a".into()),
            notify: Default::default(),
            last_at: 0,
        }));
        chat
    }

    fn live(chat: &mut ChatModel, events: &[Event]) {
        for e in events {
            chat.apply(ServerFrame::Event(e.clone()));
        }
    }

    fn page(chat: &mut ChatModel, events: &[Event]) {
        chat.apply(ServerFrame::History {
            conv: ROOM,
            events: events.to_vec(),
            more: false,
        });
    }

    /// The texts the model holds anywhere, to prove a deleted one is gone.
    fn held_text(chat: &ChatModel) -> String {
        format!("{:?}", chat.events)
    }

    fn story() -> Vec<Event> {
        vec![
            message(1, PEER, "helo", None),
            edited(2, 1, "hello"),
            reacted(3, ME, 1, "👍", true),
            reacted(4, PEER, 1, "👍", true),
            reacted(5, PEER, 1, "🎉", true),
            reacted(6, PEER, 1, "👍", false),
            message(7, ME, "hi!", Some(1)),
        ]
    }

    #[test]
    fn edits_reactions_and_replies_shape_the_message_and_a_replay_changes_nothing() {
        let mut chat = greeted();
        live(&mut chat, &story());
        let state = chat.message_state(ROOM, Seq(1)).unwrap();
        assert_eq!(
            (state.text.as_str(), state.edited, state.deleted),
            ("hello", true, false)
        );
        assert_eq!(
            state.reactions,
            BTreeMap::from([
                ("👍".to_string(), BTreeSet::from([ME])),
                ("🎉".to_string(), BTreeSet::from([PEER])),
            ])
        );
        assert_eq!(
            state.versions,
            vec![(Seq(1), "helo".to_string()), (Seq(2), "hello".to_string())],
            "the edit history"
        );
        assert_eq!(state.revision, Seq(6));
        let reply = chat.message_state(ROOM, Seq(7)).unwrap();
        assert_eq!(reply.reply_to, Some(Seq(1)));
        // The same events again (a replay, a history page, a reconnect's overlap): no change.
        live(&mut chat, &story());
        page(&mut chat, &story());
        assert_eq!(chat.message_state(ROOM, Seq(1)).unwrap(), state);
        assert_eq!(
            chat.last_seq(ROOM),
            Some(Seq(7)),
            "the cursor is past every event"
        );
        assert!(is_annotation(&story()[1].body) && !is_annotation(&story()[0].body));
    }

    #[test]
    fn a_message_whose_later_events_arrived_first_shows_its_state_on_arrival() {
        let mut chat = greeted();
        let story = story();
        // The newest events first (a new device's recent page), then the older page.
        live(&mut chat, &story[3..]);
        page(&mut chat, &story[..3]);
        let state = chat.message_state(ROOM, Seq(1)).unwrap();
        assert_eq!((state.text.as_str(), state.edited), ("hello", true));
        assert_eq!(state.reactions.len(), 2);
    }

    #[test]
    fn a_deletion_drops_every_text_of_the_message_whichever_arrives_first() {
        let mut chat = greeted();
        live(&mut chat, &story());
        live(
            &mut chat,
            &[event(8, PEER, EventBody::Deleted { target: Seq(1) })],
        );
        let state = chat.message_state(ROOM, Seq(1)).unwrap();
        assert!(state.deleted && state.text.is_empty() && state.reactions.is_empty());
        let held = held_text(&chat);
        assert!(!held.contains("helo") && !held.contains("hello"), "{held}");
        // An older page fetched before the deletion brings the texts again: not kept.
        page(&mut chat, &story()[..2]);
        let held = held_text(&chat);
        assert!(!held.contains("helo") && !held.contains("hello"), "{held}");
        assert!(chat.message_state(ROOM, Seq(1)).unwrap().deleted);
        // The reply stays, pointing at a deleted message.
        assert_eq!(
            chat.message_state(ROOM, Seq(7)).unwrap().reply_to,
            Some(Seq(1))
        );

        // The server's own tombstone (a page served after the deletion) shows the same.
        let mut fresh = greeted();
        page(
            &mut fresh,
            &[event(1, PEER, EventBody::Tombstone { target: None })],
        );
        assert!(fresh.message_state(ROOM, Seq(1)).unwrap().deleted);
    }

    #[test]
    fn an_unknown_kind_is_held_for_its_seq_and_shown_as_nothing() {
        let mut chat = greeted();
        live(
            &mut chat,
            &[
                message(1, PEER, "hi", None),
                event(2, PEER, EventBody::Unknown),
            ],
        );
        assert_eq!(chat.last_seq(ROOM), Some(Seq(2)));
        assert!(is_annotation(&EventBody::Unknown));
        assert_eq!(chat.message_state(ROOM, Seq(1)).unwrap().revision, Seq(1));
    }
}
