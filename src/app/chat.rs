//! The chat screen: conversations in a sidebar, the open conversation, the composer.
//!
//! [`Chat`] is the page's model of what the server has sent (conversations, events by seq,
//! member names) plus an outbox of the user's own messages until the server has them. The
//! WebSocket client (`crate::ws_client`) feeds it and drains its commands; components only read
//! signals and call [`Chat::send`] / [`Chat::post`]. Message text is always rendered as text.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
};

use futures::channel::mpsc::UnboundedSender;

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    auth::find_user::find_user,
    protocol::{
        ClientFrame, ClientMsgId, ConvId, ConvKind, ConvSummary, Cursor, Event, EventBody,
        MAX_BODY_CHARS, Member, Seq, ServerFrame, UserId,
    },
};

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
        }
    }

    /// Marks `conv` read up to `seq` here (the badge clears at once) and tells the server, which
    /// tells the user's other devices.
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
            })
        });
        self.send(ClientFrame::Send {
            client_msg_id,
            conv,
            body,
        });
    }

    /// The sends to repeat after a reconnect (all not yet echoed; the server stores each once).
    pub fn unsent(&self) -> Vec<ClientFrame> {
        self.outbox.with_untracked(|outbox| {
            outbox
                .iter()
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
            ServerFrame::Hello { user, .. } => self.me.set(Some(user)),
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
            ServerFrame::Members { conv, members } => {
                self.members.update(|all| {
                    all.insert(conv, members);
                });
            }
            ServerFrame::History { conv, events, .. } => self.events.update(|all| {
                let list = all.entry(conv).or_default();
                for event in events {
                    list.insert(event.seq, event);
                }
            }),
            _ => {}
        }
    }

    /// A display name for `user` in `conv`.
    fn name_of(&self, conv: ConvId, user: UserId) -> String {
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

/// `at` (Unix ms) as the viewer's local time of day; empty on the server, which does not know
/// the viewer's time zone.
fn local_time(at: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
        String::from(date.to_locale_time_string("default"))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = at;
        String::new()
    }
}

/// A fresh message id: time plus randomness, unique per sender in practice.
#[cfg(feature = "hydrate")]
fn new_client_msg_id() -> ClientMsgId {
    let now = js_sys::Date::now() as u64;
    let a = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    let b = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    ClientMsgId(format!("{now:x}-{a:08x}{b:08x}"))
}

/// The signed-in chat screen: sidebar plus, when a conversation is open, the conversation.
#[component]
pub fn ChatScreen(
    /// The conversation to show, if any.
    #[prop(into)]
    open: Signal<Option<ConvId>>,
) -> impl IntoView {
    view! {
        <div class="chat">
            <Sidebar open />
            <section class="pane" aria-label="Conversation">
                {move || match open.get() {
                    Some(conv) => view! { <Conversation conv /> }.into_any(),
                    None => {
                        view! {
                            <p class="empty">"Pick a conversation, or start one."</p>
                        }
                            .into_any()
                    }
                }}
            </section>
        </div>
    }
}

/// `/c/:id`.
#[component]
pub fn ConversationPage() -> impl IntoView {
    let params = use_params_map();
    let open = Signal::derive(move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse().ok())
            .map(ConvId)
    });
    view! { <ChatScreen open /> }
}

#[component]
fn Sidebar(open: Signal<Option<ConvId>>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let unread = move |c: &ConvSummary| {
        chat.events.with(|events| {
            events.get(&c.id).map_or(0, |list| {
                list.range(Seq(c.read_seq.0 + 1)..)
                    .filter(|(_, e)| {
                        matches!(e.body, EventBody::Message { .. }) && Some(e.from) != chat.me.get()
                    })
                    .count()
            })
        })
    };
    view! {
        <nav class="sidebar" aria-label="Conversations">
            <NewDirect />
            <NewRoom />
            <ul class="conversations" data-testid="conversations">
                <For
                    each=move || chat.conversations.get()
                    key=|c| (c.id, c.name.clone(), c.read_seq)
                    children=move |c| {
                        let id = c.id;
                        let count = move || {
                            chat.conversations
                                .with(|list| list.iter().find(|x| x.id == id).map(unread))
                                .unwrap_or(0)
                        };
                        let kind = match c.kind {
                            ConvKind::Direct => "direct",
                            ConvKind::Room => "room",
                        };
                        view! {
                            <li class=kind>
                                <A
                                    href=format!("/c/{id}")
                                    attr:aria-current=move || {
                                        (open.get() == Some(id)).then_some("page")
                                    }
                                >
                                    <span class="name">{c.name.clone()}</span>
                                    {move || {
                                        let n = count();
                                        (n > 0)
                                            .then(|| {
                                                view! {
                                                    <span class="badge" aria-label="unread">
                                                        {n}
                                                    </span>
                                                }
                                            })
                                    }}
                                </A>
                            </li>
                        }
                    }
                />
            </ul>
        </nav>
    }
}

/// "New message": start a direct conversation by username.
#[component]
fn NewDirect() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let username = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let lookup = Action::new(move |name: &String| {
        let name = name.clone();
        async move {
            match find_user(name.clone()).await {
                Ok(Some(account)) => {
                    chat.send(ClientFrame::OpenDirect { user: account.id });
                    problem.set(None);
                    username.set(String::new());
                }
                Ok(None) => problem.set(Some(format!("No user named {name}"))),
                Err(err) => problem.set(Some(err.to_string())),
            }
        }
    });
    view! {
        <form
            class="new-direct"
            on:submit=move |ev| {
                ev.prevent_default();
                lookup.dispatch(username.get_untracked());
            }
        >
            <label for="new-direct">"New message to"</label>
            <input
                id="new-direct"
                placeholder="username"
                bind:value=username
                autocomplete="off"
                required
            />
            <button type="submit">"Start"</button>
            <p class="field-error" role="alert">
                {move || problem.get()}
            </p>
        </form>
    }
}

/// "New room".
#[component]
fn NewRoom() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let name = RwSignal::new(String::new());
    let public = RwSignal::new(true);
    view! {
        <form
            class="new-room"
            on:submit=move |ev| {
                ev.prevent_default();
                chat.send(ClientFrame::CreateRoom {
                    name: name.get_untracked(),
                    public: public.get_untracked(),
                });
                name.set(String::new());
            }
        >
            <label for="new-room">"New room"</label>
            <input id="new-room" placeholder="room name" bind:value=name maxlength=64 required />
            <label class="check">
                <input type="checkbox" bind:checked=public />
                "public"
            </label>
            <button type="submit">"Create"</button>
        </form>
    }
}

#[component]
fn Conversation(conv: ConvId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    chat.send(ClientFrame::Members { conv });
    let summary = move || {
        chat.conversations
            .with(|l| l.iter().find(|c| c.id == conv).cloned())
    };
    let messages = move || {
        chat.events.with(|all| {
            all.get(&conv)
                .map(|list| list.values().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    let pending = move || {
        chat.outbox.with(|outbox| {
            outbox
                .iter()
                .filter(|p| p.conv == conv)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    // Report reads: the newest seq on screen.
    Effect::new(move |_| {
        let last = chat
            .events
            .with(|all| all.get(&conv).and_then(|l| l.keys().next_back().copied()));
        if let Some(last) = last {
            chat.mark_read(conv, last);
        }
    });
    let typing = move || {
        chat.typing
            .with(|t| t.get(&conv).map(|(user, _)| *user))
            .map(|user| format!("{} is typing…", chat.name_of(conv, user)))
    };
    view! {
        <header class="conv-header">
            <h2 data-testid="conv-title">{move || summary().map(|s| s.name).unwrap_or_default()}</h2>
        </header>
        <ol class="messages" data-testid="messages" aria-live="polite">
            <For
                each=messages
                key=|e| (e.conv, e.seq)
                children=move |event| view! { <EventLine conv event /> }
            />
            <For
                each=pending
                key=|p| (p.client_msg_id.clone(), p.acked)
                children=move |p| {
                    view! {
                        <li class="message mine pending" data-testid="message">
                            <span class="from">"You"</span>
                            <p class="body">{p.body}</p>
                            <span class="state">{if p.acked { "sent" } else { "sending…" }}</span>
                        </li>
                    }
                }
            />
        </ol>
        <p class="typing" data-testid="typing" aria-live="polite">
            {typing}
        </p>
        <Composer conv />
    }
}

#[component]
fn EventLine(conv: ConvId, event: Event) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let from = chat.name_of(conv, event.from);
    match event.body {
        EventBody::Message { body, .. } => {
            let mine = Some(event.from) == chat.me.get_untracked();
            view! {
                <li class=if mine { "message mine" } else { "message" } data-testid="message">
                    <span class="from">{from}</span>
                    " "
                    <time class="at">{local_time(event.at)}</time>
                    <p class="body">{body}</p>
                </li>
            }
            .into_any()
        }
        other => {
            let text = match other {
                EventBody::Created { name } => format!("{from} created {name}"),
                EventBody::Joined {} => format!("{from} joined"),
                EventBody::Invited { user } => {
                    format!("{from} added {}", chat.name_of(conv, user))
                }
                EventBody::Left {} => format!("{from} left"),
                EventBody::Removed { user } => {
                    format!("{from} removed {}", chat.name_of(conv, user))
                }
                EventBody::Renamed { name } => format!("{from} renamed the room to {name}"),
                EventBody::Message { .. } => String::new(),
            };
            view! { <li class="notice">{text}</li> }.into_any()
        }
    }
}

#[component]
fn Composer(conv: ConvId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let draft = RwSignal::new(String::new());
    // Typing notices: at most one every two seconds while the draft changes.
    let last_notice = StoredValue::new(0.0_f64);
    let notify_typing = move || {
        #[cfg(feature = "hydrate")]
        {
            let now = js_sys::Date::now();
            if now - last_notice.get_value() > 2000.0 {
                last_notice.set_value(now);
                chat.send(ClientFrame::Typing { conv });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = last_notice;
    };
    let too_long = move || draft.with(|d| d.chars().count() > MAX_BODY_CHARS);
    let submit = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() || body.chars().count() > MAX_BODY_CHARS {
            return;
        }
        #[cfg(feature = "hydrate")]
        chat.post(conv, body, new_client_msg_id());
        // The message ends this burst of typing; the next keystroke announces a new one.
        last_notice.set_value(0.0);
        #[cfg(not(feature = "hydrate"))]
        let _ = (chat, conv, body);
        draft.set(String::new());
    };
    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <label for="composer" class="visually-hidden">"Message"</label>
            <textarea
                id="composer"
                rows="2"
                placeholder="Write a message — Enter sends, Shift+Enter for a new line"
                bind:value=draft
                on:input=move |_| notify_typing()
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button type="submit" disabled=too_long>"Send"</button>
            <p class="field-error" role="alert">
                {move || too_long().then(|| format!("Messages are at most {MAX_BODY_CHARS} characters"))}
            </p>
        </form>
    }
}
