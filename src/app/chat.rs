//! The chat screen: conversations in a sidebar, the open conversation, the composer.
//!
//! [`Chat`] is the page's model of what the server has sent (conversations, events by seq,
//! member names, presence) plus an outbox of the user's own messages until the server has them
//! and a draft per conversation. The WebSocket client (`crate::ws_client`) feeds it and drains
//! its commands; components only read signals and call [`Chat::send`] / [`Chat::post`].
//!
//! The views live in submodules: [`sidebar`] (conversation list, new DM / room, room
//! directory), [`conversation`] (header, message list, composer) and [`text`] (message text
//! with safe links, times and days). Message text is always rendered as text.

pub mod conversation;
pub mod directory;
mod epoch;
// `#[server]` makes an argument struct whose fields are documented on the function.
#[allow(missing_docs)]
pub mod first_paint;
mod pacing;
pub mod sidebar;
pub mod text;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
};

use futures::channel::mpsc::UnboundedSender;

use leptos::prelude::*;

use crate::protocol::{
    ClientFrame, ClientMsgId, ConvId, ConvKind, ConvSummary, Cursor, Epoch, Event, EventBody,
    Member, Seq, ServerFrame, UserId,
};

pub use self::{conversation::ConversationPage, directory::RoomDirectory, sidebar::ChatScreen};

/// The route frames take to the server (see [`Chat::send`]).
#[derive(Default)]
struct Commands {
    /// The running client, if any.
    client: Option<UnboundedSender<ClientFrame>>,
    /// Frames queued while no client runs.
    waiting: Vec<ClientFrame>,
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
    /// The server acked it (durable) but its event has not arrived yet.
    pub acked: bool,
    /// The server refused it, and why; it waits for the user to retry.
    pub failed: Option<String>,
}

/// The page's chat model, shared as context.
#[derive(Clone, Copy)]
pub struct Chat {
    /// Who this page belongs to (from the server's hello).
    pub me: RwSignal<Option<UserId>>,
    /// Conversations, in the order the server announced them.
    pub conversations: RwSignal<Vec<ConvSummary>>,
    /// Every event received, by conversation and seq (seq order is the order).
    pub events: RwSignal<HashMap<ConvId, BTreeMap<Seq, Event>>>,
    /// Member lists, for names.
    pub members: RwSignal<HashMap<ConvId, Vec<Member>>>,
    /// The user's messages the server has not echoed back yet.
    pub outbox: RwSignal<Vec<Pending>>,
    /// Where frames for the server go: the running client's channel, or a waiting list until
    /// one attaches. Not a signal: nothing renders it, and no frame may be taken twice.
    commands: StoredValue<Arc<Mutex<Commands>>>,
    /// Who is typing where, with the notice's number so that only its own timer expires it.
    pub typing: RwSignal<HashMap<ConvId, (UserId, u64)>>,
    /// Numbers typing notices (never reused, so an old timer cannot clear a newer notice).
    typing_clock: StoredValue<u64>,
    /// Users known to be online (presence frames and member lists).
    pub online: RwSignal<HashSet<UserId>>,
    /// The public room directory: the search, the pages shown so far.
    pub directory: RwSignal<RoomDirectory>,
    /// Conversations with more members than their member list holds.
    pub crowded: RwSignal<HashSet<ConvId>>,
    /// Conversations whose member-list refresh is waiting to be sent (see `pacing`). Not a
    /// signal: nothing renders it.
    gathering: StoredValue<HashSet<ConvId>>,
    /// The composer's text per conversation, kept while the user looks elsewhere.
    pub drafts: StoredValue<HashMap<ConvId, String>>,
    /// The latest refusal that concerned no message (e.g. joining a private room).
    pub notice: RwSignal<Option<String>>,
    /// History requests in flight, by conversation (the `before` asked for).
    pub loading: RwSignal<HashMap<ConvId, Seq>>,
    /// The store epoch everything above belongs to (`None` before the first paint or hello).
    /// Not a signal: nothing renders it (see `epoch`).
    epoch: StoredValue<Option<Epoch>>,
}

impl Chat {
    /// An empty model.
    pub fn new() -> Self {
        Self {
            me: RwSignal::new(None),
            conversations: RwSignal::new(Vec::new()),
            events: RwSignal::new(HashMap::new()),
            members: RwSignal::new(HashMap::new()),
            outbox: RwSignal::new(Vec::new()),
            commands: StoredValue::new(Arc::new(Mutex::new(Commands::default()))),
            typing: RwSignal::new(HashMap::new()),
            typing_clock: StoredValue::new(0),
            online: RwSignal::new(HashSet::new()),
            directory: RwSignal::new(RoomDirectory::default()),
            crowded: RwSignal::new(HashSet::new()),
            gathering: StoredValue::new(HashSet::new()),
            drafts: StoredValue::new(HashMap::new()),
            notice: RwSignal::new(None),
            loading: RwSignal::new(HashMap::new()),
            epoch: StoredValue::new(None),
        }
    }

    /// Takes in what the server rendered the page with (see [`first_paint`]): conversations and
    /// the open conversation's latest events. Later frames from the socket supersede it; the
    /// events become the resume cursor, so the socket sends only what is newer.
    pub fn seed(&self, paint: &first_paint::ChatSnapshot) {
        self.adopt_epoch(paint.epoch.clone());
        self.me.set(Some(paint.me));
        self.conversations.update(|list| {
            for summary in &paint.conversations {
                if !list.iter().any(|c| c.id == summary.id) {
                    list.push(summary.clone());
                }
            }
        });
        if let Some((conv, members)) = &paint.members {
            self.members.update(|all| {
                all.entry(*conv).or_insert_with(|| members.clone());
            });
        }
        if !paint.events.is_empty() {
            self.events.update(|all| {
                for event in &paint.events {
                    all.entry(event.conv)
                        .or_default()
                        .entry(event.seq)
                        .or_insert_with(|| event.clone());
                }
            });
        }
    }

    /// Asks for the page of history before the oldest event held for `conv`, unless that is
    /// already asked for or there is nothing older.
    pub fn load_older(&self, conv: ConvId) {
        let Some(first) = self.first_seq(conv) else {
            return;
        };
        if first <= Seq(1)
            || self
                .loading
                .with_untracked(|l| l.get(&conv) == Some(&first))
        {
            return;
        }
        self.loading.update(|l| {
            l.insert(conv, first);
        });
        self.send(ClientFrame::History {
            conv,
            before: first,
            limit: crate::protocol::RECENT_PAGE,
        });
    }

    /// The oldest seq held for `conv`, untracked.
    pub fn first_seq(&self, conv: ConvId) -> Option<Seq> {
        self.events
            .with_untracked(|all| all.get(&conv).and_then(|l| l.keys().next().copied()))
    }

    /// Sends a refused message again, with the same id.
    pub fn retry(&self, client_msg_id: &ClientMsgId) {
        let mut again = None;
        self.outbox.update(|outbox| {
            if let Some(p) = outbox
                .iter_mut()
                .find(|p| &p.client_msg_id == client_msg_id)
            {
                p.failed = None;
                again = Some(ClientFrame::Send {
                    client_msg_id: p.client_msg_id.clone(),
                    conv: p.conv,
                    body: p.body.clone(),
                });
            }
        });
        if let Some(frame) = again {
            self.send(frame);
        }
    }

    /// Drops a refused message the user gave up on.
    pub fn discard(&self, client_msg_id: &ClientMsgId) {
        self.outbox
            .update(|outbox| outbox.retain(|p| &p.client_msg_id != client_msg_id));
    }

    /// Marks `conv` read up to `seq` here (the badge clears at once) and tells the server, which
    /// tells the user's other devices. Sent at once: a mark held back for coalescing was lost
    /// when the page was left right after (the server's budget for marks is 20/s, burst 40,
    /// and a refused mark shows no banner; a later one covers it).
    pub fn mark_read(&self, conv: ConvId, seq: Seq) {
        let mut moved = false;
        self.conversations.update(|list| {
            if let Some(c) = list.iter_mut().find(|c| c.id == conv)
                && c.read_seq < seq
            {
                c.read_seq = seq;
                moved = true;
            }
        });
        if moved {
            self.send(ClientFrame::Read { conv, seq });
        }
    }

    /// The last seq held per conversation, for `resume`.
    pub fn cursors(&self) -> Vec<Cursor> {
        self.events.with_untracked(|events| {
            events
                .iter()
                .filter_map(|(conv, list)| {
                    list.keys().next_back().map(|seq| Cursor {
                        conv: *conv,
                        seq: *seq,
                    })
                })
                .collect()
        })
    }

    /// Queues a frame for the server.
    pub fn send(&self, frame: ClientFrame) {
        let commands = self.commands.get_value();
        let mut commands = commands.lock().unwrap_or_else(PoisonError::into_inner);
        let frame = match &commands.client {
            Some(client) => match client.unbounded_send(frame) {
                Ok(()) => return,
                Err(err) => err.into_inner(),
            },
            None => frame,
        };
        commands.waiting.push(frame);
    }

    /// A client attaches: frames go to `client` from now on, starting with those waiting.
    pub fn attach(&self, client: UnboundedSender<ClientFrame>) {
        let commands = self.commands.get_value();
        let mut commands = commands.lock().unwrap_or_else(PoisonError::into_inner);
        for frame in std::mem::take(&mut commands.waiting) {
            let _ = client.unbounded_send(frame);
        }
        commands.client = Some(client);
    }

    /// Posts a message: into the outbox (shown as "sending") and to the server.
    pub fn post(&self, conv: ConvId, body: String, client_msg_id: ClientMsgId) {
        self.outbox.update(|outbox| {
            outbox.push(Pending {
                client_msg_id: client_msg_id.clone(),
                conv,
                body: body.clone(),
                acked: false,
                failed: None,
            })
        });
        self.send(ClientFrame::Send {
            client_msg_id,
            conv,
            body,
        });
    }

    /// The sends to repeat after a reconnect (all not yet echoed and not refused; the server
    /// stores each once).
    pub fn unsent(&self) -> Vec<ClientFrame> {
        self.outbox.with_untracked(|outbox| {
            outbox
                .iter()
                .filter(|p| p.failed.is_none())
                .map(|p| ClientFrame::Send {
                    client_msg_id: p.client_msg_id.clone(),
                    conv: p.conv,
                    body: p.body.clone(),
                })
                .collect()
        })
    }

    /// Applies one frame from the server to the model.
    pub fn apply(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Hello { user, epoch, .. } => {
                self.adopt_epoch(epoch);
                self.me.set(Some(user));
            }
            ServerFrame::Conversation(summary) => self.conversations.update(|list| {
                match list.iter_mut().find(|c| c.id == summary.id) {
                    Some(existing) => *existing = summary,
                    None => list.push(summary),
                }
            }),
            ServerFrame::Gone { conv } => {
                self.conversations
                    .update(|list| list.retain(|c| c.id != conv));
            }
            ServerFrame::Ack { client_msg_id, .. } => self.outbox.update(|outbox| {
                if let Some(p) = outbox.iter_mut().find(|p| p.client_msg_id == client_msg_id) {
                    p.acked = true;
                }
            }),
            ServerFrame::Event(event) => {
                if let EventBody::Message { client_msg_id, .. } = &event.body
                    && Some(event.from) == self.me.get_untracked()
                {
                    self.outbox
                        .update(|outbox| outbox.retain(|p| &p.client_msg_id != client_msg_id));
                }
                if let EventBody::Renamed { name } = &event.body {
                    let (conv, name) = (event.conv, name.clone());
                    self.conversations.update(|list| {
                        if let Some(c) = list.iter_mut().find(|c| c.id == conv) {
                            c.name = name;
                        }
                    });
                }
                if matches!(
                    event.body,
                    EventBody::Joined {}
                        | EventBody::Invited { .. }
                        | EventBody::Left {}
                        | EventBody::Removed { .. }
                ) && self.members.with_untracked(|m| m.contains_key(&event.conv))
                {
                    self.refresh_members(event.conv);
                }
                if matches!(event.body, EventBody::Message { .. }) {
                    self.typing.update(|t| {
                        if t.get(&event.conv).is_some_and(|(u, _)| *u == event.from) {
                            t.remove(&event.conv);
                        }
                    });
                }
                self.events.update(|events| {
                    events
                        .entry(event.conv)
                        .or_default()
                        .insert(event.seq, event);
                });
            }
            ServerFrame::ReadState { conv, seq } => self.conversations.update(|list| {
                if let Some(c) = list.iter_mut().find(|c| c.id == conv) {
                    c.read_seq = c.read_seq.max(seq);
                }
            }),
            ServerFrame::Typing { conv, user } => {
                let stamp = self.typing_clock.get_value() + 1;
                self.typing_clock.set_value(stamp);
                self.typing.update(|t| {
                    t.insert(conv, (user, stamp));
                });
                #[cfg(feature = "hydrate")]
                {
                    let typing = self.typing;
                    set_timeout(
                        move || {
                            typing.update(|t| {
                                if t.get(&conv).is_some_and(|(_, n)| *n == stamp) {
                                    t.remove(&conv);
                                }
                            })
                        },
                        std::time::Duration::from_secs(4),
                    );
                }
            }
            ServerFrame::Members {
                conv,
                members,
                more,
            } => {
                self.crowded.update(|set| {
                    if more {
                        set.insert(conv);
                    } else {
                        set.remove(&conv);
                    }
                });
                self.online.update(|set| {
                    for m in &members {
                        if m.online {
                            set.insert(m.user);
                        } else {
                            set.remove(&m.user);
                        }
                    }
                });
                self.members.update(|all| {
                    all.insert(conv, members);
                });
            }
            ServerFrame::History { conv, events, .. } => {
                self.loading.update(|l| {
                    l.remove(&conv);
                });
                self.events.update(|all| {
                    let list = all.entry(conv).or_default();
                    for event in events {
                        list.insert(event.seq, event);
                    }
                });
            }
            ServerFrame::Presence { user, online } => self.online.update(|set| {
                if online {
                    set.insert(user);
                } else {
                    set.remove(&user);
                }
            }),
            ServerFrame::Rooms {
                rooms,
                query,
                after,
                next,
            } => self.take_rooms(rooms, query, after, next),
            ServerFrame::Error {
                code,
                message,
                client_msg_id,
                refused,
                ..
            } => self.refused(code, message, client_msg_id, refused),
            _ => {}
        }
    }

    /// A display name for `user` in `conv`.
    pub fn name_of(&self, conv: ConvId, user: UserId) -> String {
        if Some(user) == self.me.get() {
            return "You".into();
        }
        let peer = self.conversations.with(|list| {
            list.iter()
                .find(|c| c.id == conv && c.kind == ConvKind::Direct && c.peer == Some(user))
                .map(|c| c.name.clone())
        });
        if let Some(name) = peer {
            return name;
        }
        self.members.with(|all| {
            all.get(&conv)
                .and_then(|members| members.iter().find(|m| m.user == user))
                .map_or_else(|| format!("user {user}"), |m| m.display_name.clone())
        })
    }
}

impl Default for Chat {
    fn default() -> Self {
        Self::new()
    }
}
