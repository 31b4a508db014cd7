//! The chat feature: the screen, its components, the model behind them, and the handle that
//! makes that model reactive.
//!
//! Layers, each using only those below it:
//!
//! * [`screen`] — the page (`/` when signed in, `/c/<id>`): composes the components below.
//! * components — [`sidebar`] (conversation list, new DM / room, room directory),
//!   [`conversation`] (header and members), [`messages`] (the message list), [`composer`]
//!   (the composer and typing line), [`directory`], [`search`] (message search), [`user_form`],
//!   [`markdown`] (message bodies as Markdown, never as HTML), [`text`] (bare links, times and
//!   days), [`splitter`] (the sidebar's width). They read the model through [`Chat`] and never import the page.
//! * [`Chat`] (this file) — the model as Leptos context: reads are tracked per [`Part`],
//!   updates run the model's [`Effect`]s (frames go to the socket, timers start).
//! * [`model`] — the pure reducer: no Leptos, no browser, unit-tested natively.
//!
//! Beside them: [`first_paint`], what the server renders the screen with, and `socket`
//! (browser only), the glue that feeds the transport's frames into [`Chat`].

pub mod avatar;
pub mod composer;
pub mod conversation;
pub mod directory;
// `#[server]` makes an argument struct whose fields are documented on the function.
#[allow(missing_docs)]
pub mod first_paint;
pub mod markdown;
pub mod mention_picker;
pub mod message_actions;
pub mod messages;
pub mod model;
pub mod notifications;
pub mod screen;
pub mod search;
pub mod sidebar;
#[cfg(feature = "hydrate")]
pub mod socket;
pub mod splitter;
pub mod switcher;
pub mod text;
pub mod user_form;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
};

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;

pub use self::{
    model::{
        ChatModel, ChatSnapshot, Effect, Jump, MessageSearch, MessageState, Part, Pending,
        RoomDirectory, Sections, is_annotation, message_states,
    },
    screen::{ChatScreen, ConversationPage},
};
use crate::protocol::{
    ClientFrame, ClientMsgId, ConvId, ConvSummary, Cursor, Event, Invitation, Member, Seq,
    ServerFrame, UserId,
};

/// How long a typing notice shows unless a newer one replaces it, in ms.
#[cfg(feature = "hydrate")]
const TYPING_SHOWN_MS: u64 = 4000;

/// How long member-list refreshes for one conversation gather before one is sent, in ms (only
/// the browser waits; without a browser there is no clock to wait on, and no socket).
#[cfg(feature = "hydrate")]
const MEMBERS_PAUSE_MS: u64 = 1000;

/// The route frames take to the server (see [`Chat::send`]).
#[derive(Default)]
struct Commands {
    /// The running client, if any.
    client: Option<UnboundedSender<ClientFrame>>,
    /// Frames queued while no client runs.
    waiting: Vec<ClientFrame>,
}

/// The page's chat model, shared as context: a [`ChatModel`] whose parts views read through
/// [`Slice`]s, so that a change re-renders only what read the part it changed.
#[derive(Clone, Copy)]
pub struct Chat {
    /// The model. Not a signal itself: [`Chat::parts`] tells readers what changed.
    model: StoredValue<ChatModel>,
    /// One trigger per [`Part`], indexed by `part as usize`.
    parts: [Trigger; Part::ALL.len()],
    /// Where frames for the server go: the running client's channel, or a waiting list until
    /// one attaches. No frame may be taken twice.
    commands: StoredValue<Arc<Mutex<Commands>>>,
    /// The composer's text per conversation, kept while the user looks elsewhere.
    pub drafts: StoredValue<HashMap<ConvId, String>>,
    /// What the user is doing to a message (page state, not the model's).
    pub acting: Acting,
    /// A conversation the person just started, for the chat screen to show (it navigates:
    /// only a component under the router may).
    pub opened: RwSignal<Option<ConvId>>,
}

/// What the user is doing to messages: each names the conversation and the message's seq.
#[derive(Clone, Copy)]
pub struct Acting {
    /// The message the composer answers.
    pub replying: RwSignal<Option<(ConvId, Seq)>>,
    /// The message whose text is open in the inline editor.
    pub editing: RwSignal<Option<(ConvId, Seq)>>,
    /// The message the list should scroll to (loading older history until it holds it).
    pub jump: RwSignal<Option<(ConvId, Seq)>>,
}

/// A fresh message id: time plus randomness, unique per sender in practice.
#[cfg(feature = "hydrate")]
pub fn new_client_msg_id() -> ClientMsgId {
    let now = js_sys::Date::now() as u64;
    let a = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    let b = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    ClientMsgId(format!("{now:x}-{a:08x}{b:08x}"))
}

/// Without a browser nothing is sent, so no id is needed.
#[cfg(not(feature = "hydrate"))]
pub fn new_client_msg_id() -> ClientMsgId {
    ClientMsgId(String::new())
}

/// One part of the model, read as a signal would be.
pub struct Slice<T: 'static> {
    chat: Chat,
    part: Part,
    field: fn(&ChatModel) -> &T,
}

impl<T> Clone for Slice<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Slice<T> {}

impl<T> Slice<T> {
    /// Reads the part, and re-runs the caller when it changes.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.track();
        self.with_untracked(f)
    }

    /// Reads the part without subscribing to it.
    pub fn with_untracked<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.chat.model.with_value(|m| f((self.field)(m)))
    }

    /// A copy of the part, tracked.
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }

    /// A copy of the part, untracked.
    pub fn get_untracked(&self) -> T
    where
        T: Clone,
    {
        self.with_untracked(T::clone)
    }

    /// Subscribes the caller to the part without reading it.
    pub fn track(&self) {
        self.chat.parts[self.part as usize].track();
    }
}

impl Chat {
    /// An empty model.
    pub fn new() -> Self {
        Self {
            model: StoredValue::new(ChatModel::default()),
            parts: Part::ALL.map(|_| Trigger::new()),
            commands: StoredValue::new(Arc::new(Mutex::new(Commands::default()))),
            drafts: StoredValue::new(HashMap::new()),
            acting: Acting {
                replying: RwSignal::new(None),
                editing: RwSignal::new(None),
                jump: RwSignal::new(None),
            },
            opened: RwSignal::new(None),
        }
    }

    fn slice<T>(&self, part: Part, field: fn(&ChatModel) -> &T) -> Slice<T> {
        Slice {
            chat: *self,
            part,
            field,
        }
    }

    /// Who this page belongs to.
    pub fn me(&self) -> Slice<Option<UserId>> {
        self.slice(Part::Me, |m| &m.me)
    }

    /// Conversations, in the order the server announced them.
    pub fn conversations(&self) -> Slice<Vec<ConvSummary>> {
        self.slice(Part::Conversations, |m| &m.conversations)
    }

    /// Every event received, by conversation and seq.
    pub fn events(&self) -> Slice<HashMap<ConvId, BTreeMap<Seq, Event>>> {
        self.slice(Part::Events, |m| &m.events)
    }

    /// Member lists.
    pub fn members(&self) -> Slice<HashMap<ConvId, Vec<Member>>> {
        self.slice(Part::Members, |m| &m.members)
    }

    /// The user's messages the server has not echoed back yet.
    pub fn outbox(&self) -> Slice<Vec<Pending>> {
        self.slice(Part::Outbox, |m| &m.outbox)
    }

    /// Who is typing where (with the notice's number).
    pub fn typing(&self) -> Slice<HashMap<ConvId, (UserId, u64)>> {
        self.slice(Part::Typing, |m| &m.typing)
    }

    /// Users known to be online.
    pub fn online(&self) -> Slice<HashSet<UserId>> {
        self.slice(Part::Online, |m| &m.online)
    }

    /// The public room directory.
    pub fn directory(&self) -> Slice<RoomDirectory> {
        self.slice(Part::Directory, |m| &m.directory)
    }

    /// The message search.
    pub fn search(&self) -> Slice<MessageSearch> {
        self.slice(Part::Search, |m| &m.search)
    }

    /// Conversations with more members than their member list holds.
    pub fn crowded(&self) -> Slice<HashSet<ConvId>> {
        self.slice(Part::Crowded, |m| &m.crowded)
    }

    /// The latest refusal that concerned no message.
    pub fn notice(&self) -> Slice<Option<String>> {
        self.slice(Part::Notice, |m| &m.notice)
    }

    /// History requests in flight, by conversation.
    pub fn loading(&self) -> Slice<HashMap<ConvId, Seq>> {
        self.slice(Part::Loading, |m| &m.loading)
    }

    /// Who the user blocks.
    pub fn blocked(&self) -> Slice<BTreeSet<UserId>> {
        self.slice(Part::Consent, |m| &m.blocked)
    }

    /// Room invitations waiting for the user's answer.
    pub fn invitations(&self) -> Slice<Vec<Invitation>> {
        self.slice(Part::Consent, |m| &m.invitations)
    }

    /// Whether `event` shows collapsed (a message from a blocked user not yet shown); tracks
    /// the events and the block list.
    pub fn collapsed(&self, event: &Event) -> bool {
        self.parts[Part::Consent as usize].track();
        self.parts[Part::Events as usize].track();
        self.model.with_value(|m| m.collapsed(event))
    }

    /// Shows one collapsed message.
    pub fn reveal(&self, conv: ConvId, seq: Seq) {
        self.update(|m| {
            m.reveal(conv, seq);
            Vec::new()
        });
    }

    /// Runs one update of the model, tells the readers of the parts it changed, then does what
    /// it asked for.
    fn update(&self, f: impl FnOnce(&mut ChatModel) -> Vec<Effect>) {
        let mut out = None;
        self.model.update_value(|m| {
            let effects = f(m);
            out = Some((effects, m.take_changed()));
        });
        let Some((effects, changed)) = out else {
            return;
        };
        for part in Part::ALL {
            if changed.contains(part) {
                self.parts[part as usize].notify();
            }
        }
        for effect in effects {
            self.run(effect);
        }
    }

    /// Does one [`Effect`].
    fn run(&self, effect: Effect) {
        let chat = *self;
        match effect {
            Effect::Send(frame) => self.send(frame),
            Effect::Open(conv) => self.opened.set(Some(conv)),
            #[cfg(feature = "hydrate")]
            Effect::Notify { conv, seq } => notifications::show(chat, conv, seq),
            // The server shows no notifications.
            #[cfg(not(feature = "hydrate"))]
            Effect::Notify { .. } => {}
            Effect::Log(line) => leptos::logging::log!("{line}"),
            #[cfg(feature = "hydrate")]
            Effect::ExpireTyping { conv, stamp } => set_timeout(
                move || {
                    chat.update(|m| {
                        m.expire_typing(conv, stamp);
                        Vec::new()
                    })
                },
                std::time::Duration::from_millis(TYPING_SHOWN_MS),
            ),
            // The server renders no typing notices, so none needs to expire there.
            #[cfg(not(feature = "hydrate"))]
            Effect::ExpireTyping { .. } => {}
            #[cfg(feature = "hydrate")]
            Effect::RefreshMembers(conv) => set_timeout(
                move || chat.update(|m| m.members_due(conv)),
                std::time::Duration::from_millis(MEMBERS_PAUSE_MS),
            ),
            #[cfg(not(feature = "hydrate"))]
            Effect::RefreshMembers(conv) => chat.update(|m| m.members_due(conv)),
        }
    }

    /// Takes in what the server rendered the page with (see [`first_paint`]).
    pub fn seed(&self, paint: &ChatSnapshot) {
        self.update(|m| m.seed(paint));
    }

    /// Applies one frame from the server to the model.
    pub fn apply(&self, frame: ServerFrame) {
        self.update(|m| m.apply(frame));
    }

    /// Asks for the page of history before the oldest event held for `conv`.
    pub fn load_older(&self, conv: ConvId) {
        self.update(|m| m.load_older(conv));
    }

    /// The oldest seq held for `conv`, untracked.
    pub fn first_seq(&self, conv: ConvId) -> Option<Seq> {
        self.model.with_value(|m| m.first_seq(conv))
    }

    /// The newest seq held for `conv`, untracked.
    pub fn last_seq(&self, conv: ConvId) -> Option<Seq> {
        self.model.with_value(|m| m.last_seq(conv))
    }

    /// Sends a refused message again, with the same id.
    pub fn retry(&self, client_msg_id: &ClientMsgId) {
        self.update(|m| m.retry(client_msg_id));
    }

    /// Drops a refused message the user gave up on.
    pub fn discard(&self, client_msg_id: &ClientMsgId) {
        self.update(|m| {
            m.discard(client_msg_id);
            Vec::new()
        });
    }

    /// Marks `conv` read up to `seq` here and tells the server.
    pub fn mark_read(&self, conv: ConvId, seq: Seq) {
        self.update(|m| m.mark_read(conv, seq));
    }

    /// Posts a message: into the outbox (shown as "sending") and to the server.
    pub fn post(&self, conv: ConvId, body: String, client_msg_id: ClientMsgId) {
        self.update(|m| m.post(conv, body, client_msg_id));
    }

    /// Posts a message answering the one at `reply_to` (see [`Chat::post`]).
    pub fn post_answering(&self, conv: ConvId, body: String, reply_to: Option<Seq>) {
        self.update(|m| m.post_answering(conv, body, new_client_msg_id(), reply_to));
    }

    /// Replaces the text of the user's message at `target`.
    pub fn edit(&self, conv: ConvId, target: Seq, body: String) {
        self.update(|m| m.edit(conv, target, body, new_client_msg_id()));
    }

    /// Deletes the message at `target`.
    pub fn delete(&self, conv: ConvId, target: Seq) {
        self.update(|m| m.delete(conv, target, new_client_msg_id()));
    }

    /// Adds the user's reaction `emoji` to the message at `target`, or takes it back.
    pub fn toggle_reaction(&self, conv: ConvId, target: Seq, emoji: String) {
        self.update(|m| m.toggle_reaction(conv, target, emoji, new_client_msg_id()));
    }

    /// The newest message the user sent in `conv` and did not delete, untracked.
    pub fn last_own_message(&self, conv: ConvId) -> Option<Seq> {
        self.model.with_value(|m| m.last_own_message(conv))
    }

    /// Whether the user may edit (`.0`) and delete (`.1`) the message at `seq`, tracked.
    pub fn may(&self, conv: ConvId, seq: Seq) -> (bool, bool) {
        for part in [Part::Me, Part::Conversations, Part::Events] {
            self.parts[part as usize].track();
        }
        self.model
            .with_value(|m| (m.may_edit(conv, seq), m.may_delete(conv, seq)))
    }

    /// Sends `frame` for the person; if it starts a conversation (a direct one, a room
    /// created, joined or accepted), that conversation opens once it arrives.
    pub fn start(&self, frame: ClientFrame) {
        self.update(|m| {
            let mut effects = m.expect_open(&frame);
            effects.insert(0, Effect::Send(frame));
            effects
        });
    }

    /// Asks for the first page of public rooms whose name contains `query`.
    pub fn browse(&self, query: String) {
        self.update(|m| m.browse(query));
    }

    /// Asks for the next page of the directory, if there is one.
    pub fn browse_more(&self) {
        self.update(ChatModel::browse_more);
    }

    /// Searches the messages for what was typed into the search box.
    pub fn find(&self, typed: String) {
        self.update(|m| m.search(typed));
    }

    /// Asks for the next page of search hits, if there is one.
    pub fn find_more(&self) {
        self.update(ChatModel::search_more);
    }

    /// Closes the search.
    pub fn close_search(&self) {
        self.update(|m| {
            m.close_search();
            Vec::new()
        });
    }

    /// The last seq held per conversation, for `resume`.
    pub fn cursors(&self) -> Vec<Cursor> {
        self.model.with_value(ChatModel::cursors)
    }

    /// What a new session opens with (see [`ChatModel::opening`]).
    pub fn opening(&self) -> Vec<ClientFrame> {
        self.model.with_value(ChatModel::opening)
    }

    /// A display name for `user` in `conv`, tracked.
    pub fn name_of(&self, conv: ConvId, user: UserId) -> String {
        for part in [Part::Me, Part::Conversations, Part::Members] {
            self.parts[part as usize].track();
        }
        self.model.with_value(|m| m.name_of(conv, user))
    }

    /// How many messages from others in `conv` the user has not read, tracked.
    pub fn unread(&self, conv: ConvId) -> usize {
        for part in [Part::Me, Part::Conversations, Part::Events] {
            self.parts[part as usize].track();
        }
        self.model.with_value(|m| m.unread(conv))
    }

    /// How many of those mention the user.
    pub fn unread_mentions(&self, conv: ConvId) -> usize {
        for part in [Part::Me, Part::Conversations, Part::Events] {
            self.parts[part as usize].track();
        }
        self.model.with_value(|m| m.unread_mentions(conv))
    }

    /// The user's username (empty before the first paint).
    pub fn username(&self) -> String {
        self.parts[Part::Me as usize].track();
        self.model.with_value(|m| m.username.clone())
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
}

impl Default for Chat {
    fn default() -> Self {
        Self::new()
    }
}
