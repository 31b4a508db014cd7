//! The chat model: what the page knows of the server's conversations, as plain data, and the
//! pure reducer that keeps it.
//!
//! [`ChatModel::apply`] (in `apply`) takes one frame from the server; the other methods take what the user
//! does. None of them does I/O or waits: each returns the [`Effect`]s it asks for (frames to
//! send, timers to start), and records which [`Part`]s it changed, so that the reactive handle
//! (`super::Chat`) re-renders only what reads them.
//!
//! This module must not depend on Leptos, web-sys, the transport (`crate::ws_client`) or the
//! views: only on `protocol`. So it runs natively, and its unit tests
//! (`cargo test --features ssr --lib app::`) cover every rule the page applies to frames.

mod acting;
mod activity;
mod annotations;
mod apply;
mod consent;
mod directory;
mod epoch;
mod names;
mod notify;
#[cfg(test)]
mod notify_tests;
mod opening;
mod refusals;
mod search;
mod switcher;
#[cfg(test)]
mod tests;
mod unread;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

pub use self::{
    activity::Sections,
    annotations::{MessageState, is_annotation, message_states},
    directory::RoomDirectory,
    notify::Notification,
    search::MessageSearch,
    switcher::{JUMP_LIMIT, Jump},
};
use crate::protocol::{
    ClientFrame, ClientMsgId, ConvId, ConvKind, ConvSummary, Cursor, Epoch, Event, Invitation,
    Member, RECENT_PAGE, Seq, UserId,
};

/// A part of the model that views read on its own; an update names the parts it changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// [`ChatModel::me`].
    Me,
    /// [`ChatModel::conversations`].
    Conversations,
    /// [`ChatModel::events`].
    Events,
    /// [`ChatModel::members`].
    Members,
    /// [`ChatModel::outbox`].
    Outbox,
    /// [`ChatModel::typing`].
    Typing,
    /// [`ChatModel::online`].
    Online,
    /// [`ChatModel::directory`].
    Directory,
    /// [`ChatModel::crowded`].
    Crowded,
    /// [`ChatModel::notice`].
    Notice,
    /// [`ChatModel::loading`].
    Loading,
    /// [`ChatModel::blocked`] and [`ChatModel::invitations`].
    Consent,
    /// [`ChatModel::search`].
    Search,
    /// [`ChatModel::do_not_disturb`].
    Settings,
}

impl Part {
    /// Every part, in declaration order (`part as usize` indexes it).
    pub const ALL: [Part; 14] = [
        Part::Me,
        Part::Conversations,
        Part::Events,
        Part::Members,
        Part::Outbox,
        Part::Typing,
        Part::Online,
        Part::Directory,
        Part::Crowded,
        Part::Notice,
        Part::Loading,
        Part::Consent,
        Part::Search,
        Part::Settings,
    ];
}

/// A set of [`Part`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts(u16);

impl Parts {
    /// Adds `part`.
    pub fn insert(&mut self, part: Part) {
        self.0 |= 1 << part as u16;
    }

    /// Whether `part` is in the set.
    pub fn contains(self, part: Part) -> bool {
        self.0 & (1 << part as u16) != 0
    }
}

/// Something an update asks the page to do; the model itself never does it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send this frame to the server (queued while no socket runs).
    Send(ClientFrame),
    /// After the typing notice's lifetime, call [`ChatModel::expire_typing`] with these.
    ExpireTyping {
        /// Where the notice shows.
        conv: ConvId,
        /// Its number.
        stamp: u64,
    },
    /// A member-list refresh for `conv` started gathering: after the pause, call
    /// [`ChatModel::members_due`].
    RefreshMembers(ConvId),
    /// Show this conversation: it is what the person just started (see `opening.rs`).
    Open(ConvId),
    /// The message at `seq` of `conv` should notify the user (see `notify.rs`): the page shows
    /// [`ChatModel::notification`] if its tab is hidden and notifications are allowed.
    Notify {
        /// Where.
        conv: ConvId,
        /// Which message.
        seq: Seq,
    },
    /// Worth a line in the console.
    Log(&'static str),
}

/// What an update asks for, in order.
pub type Effects = Vec<Effect>;

/// The signed-in user's conversations, and the open one's members and latest events, as the
/// server rendered the page with them (see `super::first_paint`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSnapshot {
    /// Who is signed in.
    pub me: UserId,
    /// Their username (mentions of it count and stand out).
    #[serde(default)]
    pub username: String,
    /// Every conversation the user is in.
    pub conversations: Vec<ConvSummary>,
    /// The open conversation's members.
    pub members: Option<(ConvId, Vec<Member>)>,
    /// The open conversation's latest events, oldest first.
    pub events: Vec<Event>,
    /// The store epoch these seqs belong to (as a `hello` would announce it).
    pub epoch: Epoch,
}

/// One of the user's own messages that the server has not yet echoed back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Its id; resent with the same id after a reconnect, so it is stored once.
    pub client_msg_id: ClientMsgId,
    /// Where.
    pub conv: ConvId,
    /// What.
    pub body: String,
    /// The earlier message it answers.
    pub reply_to: Option<Seq>,
    /// The server acked it (durable) but its event has not arrived yet.
    pub acked: bool,
    /// The server refused it, and why; it waits for the user to retry.
    pub failed: Option<String>,
}

impl Pending {
    /// The frame that sends it (again, with the same id).
    fn frame(&self) -> ClientFrame {
        ClientFrame::Send {
            client_msg_id: self.client_msg_id.clone(),
            conv: self.conv,
            body: self.body.clone(),
            reply_to: self.reply_to,
        }
    }
}

/// The page's chat state. Read its fields freely; change it only through its methods, which
/// record what they changed (see [`ChatModel::take_changed`]).
#[derive(Debug, Default)]
pub struct ChatModel {
    /// Who this page belongs to (from the server's hello).
    pub me: Option<UserId>,
    /// Their username, from the first paint (empty until then; see [`ChatModel::set_username`]).
    pub username: String,
    /// The messages and edits (by conversation and seq) whose text mentions the user: decided
    /// once, when the event is stored, so the sidebar's badge never parses Markdown.
    mentioning: HashSet<(ConvId, Seq)>,
    /// Conversations, in the order the server announced them.
    pub conversations: Vec<ConvSummary>,
    /// Every event received, by conversation and seq (seq order is the order).
    pub events: HashMap<ConvId, BTreeMap<Seq, Event>>,
    /// Member lists, for names.
    pub members: HashMap<ConvId, Vec<Member>>,
    /// Every display name the page has learnt (see `names.rs`).
    names: HashMap<UserId, String>,
    /// The user's messages the server has not echoed back yet.
    pub outbox: Vec<Pending>,
    /// Who is typing where, with the notice's number so that only its own timer expires it.
    pub typing: HashMap<ConvId, (UserId, u64)>,
    /// Numbers typing notices (never reused, so an old timer cannot clear a newer notice).
    typing_clock: u64,
    /// Users known to be online (presence frames and member lists).
    pub online: HashSet<UserId>,
    /// The public room directory: the search, the pages shown so far.
    pub directory: RoomDirectory,
    /// The message search: what was asked, the hits shown so far.
    pub search: MessageSearch,
    /// Conversations with more members than their member list holds.
    pub crowded: HashSet<ConvId>,
    /// Conversations whose member-list refresh is waiting to be sent (see `refusals`).
    gathering: HashSet<ConvId>,
    /// The latest refusal that concerned no message (e.g. joining a private room).
    pub notice: Option<String>,
    /// History requests in flight, by conversation (the `before` asked for).
    pub loading: HashMap<ConvId, Seq>,
    /// Who the user blocks (the server's list; see `consent`).
    pub blocked: BTreeSet<UserId>,
    /// Room invitations waiting for the user's answer.
    pub invitations: Vec<Invitation>,
    /// What the person started whose conversation should open when it arrives.
    awaited: Option<opening::Awaited>,
    /// Collapsed messages from blocked users the user chose to show.
    revealed: HashSet<(ConvId, Seq)>,
    /// Notifications waiting for their sender's name (the conversation's member list was
    /// asked for; see `notify.rs`), oldest first, at most `notify::MAX_UNNAMED`.
    unnamed: Vec<(ConvId, Seq)>,
    /// How many times the server has confirmed a change of the user's display name (from any
    /// device): the settings page says "saved" when it moves.
    pub profile_saved: u64,
    /// "Do not disturb" is on (the server's setting; off at each hello until it says).
    pub do_not_disturb: bool,
    /// The socket's replay is done (`synced`): what arrives now is live, and may notify.
    live: bool,
    /// The store epoch everything above belongs to (`None` before the first paint or hello;
    /// see `epoch`).
    epoch: Option<Epoch>,
    /// What changed since [`ChatModel::take_changed`] was last called.
    changed: Parts,
}

impl ChatModel {
    /// The parts changed since the last call, and forgets them.
    pub fn take_changed(&mut self) -> Parts {
        std::mem::take(&mut self.changed)
    }

    /// Records that `part` changed.
    fn touch(&mut self, part: Part) {
        self.changed.insert(part);
    }

    /// `conv`'s summary, to change.
    fn summary_mut(&mut self, conv: ConvId) -> Option<&mut ConvSummary> {
        self.conversations.iter_mut().find(|c| c.id == conv)
    }

    /// Takes in what the server rendered the page with: conversations and the open
    /// conversation's latest events. Later frames from the socket supersede it; the events
    /// become the resume cursor, so the socket sends only what is newer.
    pub fn seed(&mut self, paint: &ChatSnapshot) -> Effects {
        let effects = self.adopt_epoch(paint.epoch.clone());
        self.me = Some(paint.me);
        if !paint.username.is_empty() {
            self.set_username(&paint.username);
        }
        self.touch(Part::Me);
        for summary in &paint.conversations {
            if !self.conversations.iter().any(|c| c.id == summary.id) {
                self.conversations.push(summary.clone());
            }
        }
        self.touch(Part::Conversations);
        for summary in &paint.conversations {
            if let (ConvKind::Direct, Some(peer)) = (summary.kind, summary.peer) {
                self.learn_name(peer, &summary.name);
            }
        }
        if let Some((conv, members)) = &paint.members {
            self.learn_names(members);
            self.members.entry(*conv).or_insert_with(|| members.clone());
            self.touch(Part::Members);
        }
        if !paint.events.is_empty() {
            for event in &paint.events {
                let held = self
                    .events
                    .get(&event.conv)
                    .is_some_and(|list| list.contains_key(&event.seq));
                if !held {
                    self.store(event.clone());
                }
            }
            self.touch(Part::Events);
        }
        effects
    }

    /// Asks for the page of history before the oldest event held for `conv`, unless that is
    /// already asked for or there is nothing older.
    pub fn load_older(&mut self, conv: ConvId) -> Effects {
        let Some(first) = self.first_seq(conv) else {
            return Vec::new();
        };
        if first <= Seq(1) || self.loading.get(&conv) == Some(&first) {
            return Vec::new();
        }
        self.loading.insert(conv, first);
        self.touch(Part::Loading);
        vec![Effect::Send(ClientFrame::History {
            conv,
            before: first,
            limit: RECENT_PAGE,
        })]
    }

    /// The oldest seq held for `conv`.
    pub fn first_seq(&self, conv: ConvId) -> Option<Seq> {
        self.events
            .get(&conv)
            .and_then(|l| l.keys().next().copied())
    }

    /// The newest seq held for `conv`.
    pub fn last_seq(&self, conv: ConvId) -> Option<Seq> {
        self.events
            .get(&conv)
            .and_then(|l| l.keys().next_back().copied())
    }

    /// Sends a refused message again, with the same id.
    pub fn retry(&mut self, client_msg_id: &ClientMsgId) -> Effects {
        self.touch(Part::Outbox);
        let Some(p) = self
            .outbox
            .iter_mut()
            .find(|p| &p.client_msg_id == client_msg_id)
        else {
            return Vec::new();
        };
        p.failed = None;
        vec![Effect::Send(p.frame())]
    }

    /// Drops a refused message the user gave up on.
    pub fn discard(&mut self, client_msg_id: &ClientMsgId) {
        self.outbox.retain(|p| &p.client_msg_id != client_msg_id);
        self.touch(Part::Outbox);
    }

    /// Marks `conv` read up to `seq` here (the badge clears at once) and tells the server,
    /// which tells the user's other devices. Sent at once: a mark held back for coalescing was
    /// lost when the page was left right after (the server's budget for marks is 20/s, burst
    /// 40, and a refused mark shows no banner; a later one covers it).
    pub fn mark_read(&mut self, conv: ConvId, seq: Seq) -> Effects {
        self.touch(Part::Conversations);
        match self.summary_mut(conv) {
            Some(c) if c.read_seq < seq => {
                c.read_seq = seq;
                vec![Effect::Send(ClientFrame::Read { conv, seq })]
            }
            _ => Vec::new(),
        }
    }

    /// The last seq held per conversation, for `resume`.
    pub fn cursors(&self) -> Vec<Cursor> {
        self.events
            .iter()
            .filter_map(|(conv, list)| {
                list.keys().next_back().map(|seq| Cursor {
                    conv: *conv,
                    seq: *seq,
                })
            })
            .collect()
    }

    /// Posts a message: into the outbox (shown as "sending") and to the server.
    pub fn post(&mut self, conv: ConvId, body: String, client_msg_id: ClientMsgId) -> Effects {
        self.post_answering(conv, body, client_msg_id, None)
    }

    /// The sends to repeat after a reconnect (all not yet echoed and not refused; the server
    /// stores each once).
    pub fn unsent(&self) -> Vec<ClientFrame> {
        self.outbox
            .iter()
            .filter(|p| p.failed.is_none())
            .map(Pending::frame)
            .collect()
    }

    /// What a new session opens with: `resume` from what the page holds, then whatever the
    /// server has not echoed yet (same ids: each is stored once).
    pub fn opening(&self) -> Vec<ClientFrame> {
        let mut frames = vec![ClientFrame::Resume {
            cursors: self.cursors(),
        }];
        frames.extend(self.unsent());
        frames
    }
}
