//! What the server does with each client frame, after it has been decoded.
//!
//! Authorisation is checked here, on every frame: a user reads, posts to, and learns the members
//! of only the conversations they are in. The sender of anything is the connection's user,
//! fixed at the upgrade; no frame carries a `from`. Every refusal is a typed `error` frame,
//! naming the refused frame's type and the `client_msg_id` when there is one; the connection
//! stays open.
//!
//! Before a frame does anything it is charged to its user's budget (`limits.rs`), so a flood
//! costs the store nothing. Room and membership changes live in `rooms.rs`, invitations in
//! `invitations.rs`, blocks and the direct-conversation checks in `consent.rs`, notification
//! settings in `notify.rs`, edits, deletions and reactions in `actions.rs`, the answers that only read in `reads.rs`, message search in
//! `search.rs`, and what keeps a sender's order after a rate refusal in `order.rs`.

mod actions;
mod consent;
mod invitations;
mod limits;
mod notify;
mod order;
mod profile;
mod reads;
mod rooms;
mod search;

use std::{sync::Arc, time::Duration};

use self::actions::{check_body, check_id};
pub use self::{limits::Limits, order::SendHold};
use crate::protocol::{
    self, ClientFrame, ConvId, Cursor, ErrorCode, MAX_PAGE, MAX_ROOM_PAGE, NotifySettings,
    ROOM_PAGE, Req, Seq, ServerFrame, UserId,
};
use crate::server::{
    committer::Committer,
    routing::{ConnId, Hub, Mailbox, Origin, Outgoing},
    shutdown::Shutdown,
    store::{NewMessage, Store, StoreError},
    wire::encode,
};

/// Everything a connection's reader needs to act on frames.
pub struct Connection {
    /// This connection's number in the hub.
    pub id: ConnId,
    /// This connection's own queue (its user is the sender of everything it does).
    pub mailbox: Mailbox,
    /// Routing.
    pub hub: Arc<Hub>,
    /// Reads and membership writes.
    pub store: Store,
    /// Message writes.
    pub committer: Committer,
    /// Rate limits.
    pub limits: Arc<Limits>,
    /// Whether `resume` has been received (live delivery started).
    pub resumed: bool,
    /// After a send refused for rate, holds back the others so that resending keeps order.
    pub sends: SendHold,
    /// The server's shutdown, which waits for the changes this connection detaches.
    pub shutdown: Shutdown,
}

/// How many items a `members` request is charged as: its size is not known before the query,
/// most rooms are small, and [`crate::protocol::MAX_MEMBERS`] bounds the big ones.
const MEMBERS_CHARGED_AS: usize = 50;

/// How many events a `history` asking for `limit` gets.
fn history_page(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE)
}

/// How many rooms a `list_rooms` asking for `limit` gets.
fn room_page(limit: Option<u32>) -> u32 {
    limit.unwrap_or(ROOM_PAGE).clamp(1, MAX_ROOM_PAGE)
}

/// A refusal to send back.
struct Refusal {
    /// Why, for the client's code.
    code: ErrorCode,
    /// Why, for a person.
    message: String,
    /// For `rate_limited`: how long until the budget admits one more such frame.
    retry_after: Option<Duration>,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
        retry_after: None,
    }
}

/// A `rate_limited` refusal for a frame that may pass again in `wait`.
fn limited(what: &str, wait: Duration) -> Refusal {
    Refusal {
        retry_after: Some(wait),
        ..refuse(ErrorCode::RateLimited, format!("{what}; wait a moment"))
    }
}

/// `wait` in whole milliseconds, rounded up so that a client waiting that long is admitted.
fn millis_up(wait: Duration) -> u32 {
    let ms = wait.as_micros().div_ceil(1000);
    u32::try_from(ms).unwrap_or(u32::MAX)
}

/// What a request that went through owes its sender besides its own effects: requests with
/// an answer frame (`pong`, `ack`, `synced`, `rooms`, `members`, `history`) send it themselves,
/// echoing `req`; the others name the conversation they touched, and get a `done` when they
/// carried a `req`.
type Outcome = Result<Option<ConvId>, Refusal>;

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Self {
        tracing::error!(%err, "store failure while handling a frame");
        refuse(ErrorCode::Unavailable, "temporarily unavailable; try again")
    }
}

impl Connection {
    /// Runs a store-then-hub change to completion on its own task (one the shutdown waits for),
    /// so that the hub's tables never miss a committed change even if this connection's reader
    /// is dropped halfway (eviction).
    async fn detached<T: Send + 'static>(
        &self,
        change: impl Future<Output = Result<T, Refusal>> + Send + 'static,
    ) -> Result<T, Refusal> {
        tokio::spawn(self.shutdown.track(change))
            .await
            .unwrap_or_else(|_| {
                Err(refuse(
                    ErrorCode::Unavailable,
                    "temporarily unavailable; try again",
                ))
            })
    }

    fn user(&self) -> UserId {
        self.mailbox.user
    }

    /// Owned handles for work that must outlive this connection's reader.
    fn owned(&self) -> (Store, Arc<Hub>, UserId, Mailbox) {
        (
            self.store.clone(),
            Arc::clone(&self.hub),
            self.user(),
            self.mailbox.clone(),
        )
    }

    /// Queues `frame` as the answer to the request `req`.
    fn reply(&self, frame: &ServerFrame, req: Option<&Req>) {
        let text = protocol::encode_reply(frame, req);
        self.mailbox.push(Outgoing::Frame(text.into()));
    }

    /// Acts on one frame whose request id is `req`. Every refusal names the frame's type,
    /// its `client_msg_id` and its `req` when it has them.
    pub async fn handle(&mut self, frame: ClientFrame, req: Option<Req>) {
        let client_msg_id = frame.client_msg_id().cloned();
        let refused = frame.frame_type();
        let outcome = if req.as_ref().is_some_and(|req| !req.is_valid()) {
            Err(refuse(
                ErrorCode::InvalidRequest,
                format!(
                    "req is an integer or a string of at most {} characters",
                    Req::MAX_CHARS
                ),
            ))
        } else {
            match self.admit(&frame) {
                Ok(()) => self.dispatch(frame, req.as_ref()).await,
                Err(refusal) => Err(refusal),
            }
        };
        // An invalid req is not echoed: it is what was refused.
        let req = req.filter(Req::is_valid);
        match outcome {
            Ok(Some(conv)) => {
                if req.is_some() {
                    self.reply(&ServerFrame::Done { conv }, req.as_ref());
                }
            }
            Ok(None) => {}
            Err(refusal) => {
                crate::server::metrics::rejected(refusal.code);
                self.reply(
                    &ServerFrame::Error {
                        code: refusal.code,
                        message: refusal.message,
                        client_msg_id,
                        refused: Some(refused),
                        retry_after_ms: refusal.retry_after.map(millis_up),
                    },
                    req.as_ref(),
                );
            }
        }
    }

    /// Charges `frame` to its budget (see [`Limits`]) before it does any work; refuses it
    /// when the user's budget is spent. `send` is charged once its id and body are known to be
    /// valid, in [`Self::send`], and so are edits, deletions and reactions, in `act`;
    /// `typing` once its sender is known to be a member (its budget is per conversation), in
    /// [`Self::typing`].
    fn admit(&self, frame: &ClientFrame) -> Result<(), Refusal> {
        let (user, limits) = (self.user(), &self.limits);
        let (admission, what) = match frame {
            ClientFrame::CreateRoom { .. }
            | ClientFrame::JoinRoom { .. }
            | ClientFrame::Leave { .. }
            | ClientFrame::Invite { .. }
            | ClientFrame::Accept { .. }
            | ClientFrame::Decline { .. }
            | ClientFrame::Block { .. }
            | ClientFrame::Unblock { .. }
            | ClientFrame::Notify { .. }
            | ClientFrame::DoNotDisturb { .. }
            | ClientFrame::Remove { .. }
            | ClientFrame::RenameRoom { .. }
            | ClientFrame::OpenDirect { .. } => (limits.change(user), "too many room changes"),
            ClientFrame::Resume { cursors } => {
                (limits.read(user, cursors.len()), "too many resumes")
            }
            ClientFrame::History { limit, .. } => (
                limits.read(user, history_page(*limit) as usize),
                "too many history requests",
            ),
            ClientFrame::Members { .. } => (
                limits.read(user, MEMBERS_CHARGED_AS),
                "too many member list requests",
            ),
            ClientFrame::ListRooms { limit, .. } => (
                limits.read(user, room_page(*limit) as usize),
                "too many room list requests",
            ),
            ClientFrame::Read { .. } => (limits.mark(user), "too many read marks"),
            ClientFrame::Search { .. } => (limits.search(user), "too many searches"),
            ClientFrame::SetProfile { .. } => {
                (limits.profile(user), "too many display name changes")
            }
            // `ping` costs nothing; `send`, `typing`, `edit`, `delete`, `react` and `unreact`
            // are charged later (above).
            _ => (Ok(()), ""),
        };
        admission.map_err(|wait| limited(what, wait))
    }

    async fn dispatch(&mut self, frame: ClientFrame, req: Option<&Req>) -> Outcome {
        let done = |conv| move |()| Some(conv);
        match frame {
            ClientFrame::Ping { nonce } => {
                self.reply(&ServerFrame::Pong { nonce }, req);
                Ok(None)
            }
            ClientFrame::Resume { cursors } => self.resume(cursors, req).await.map(|()| None),
            ClientFrame::Send {
                client_msg_id,
                conv,
                body,
                reply_to,
            } => self
                .send(
                    NewMessage {
                        conv,
                        from: self.user(),
                        client_msg_id,
                        body,
                        reply_to,
                    },
                    req,
                )
                .await
                .map(|()| None),
            frame @ (ClientFrame::Edit { .. }
            | ClientFrame::Delete { .. }
            | ClientFrame::React { .. }
            | ClientFrame::Unreact { .. }) => self.act(frame, req).await.map(|()| None),
            ClientFrame::OpenDirect { user } => self.open_direct(user).await.map(Some),
            ClientFrame::CreateRoom { name, public } => {
                self.create_room(name, public).await.map(Some)
            }
            ClientFrame::ListRooms {
                query,
                after,
                limit,
            } => self
                .list_rooms(query, after, limit, req)
                .await
                .map(|()| None),
            frame @ ClientFrame::Search { .. } => self.search(frame, req).await.map(|()| None),
            ClientFrame::JoinRoom { conv } => self.join(conv).await.map(done(conv)),
            ClientFrame::Invite { conv, user } => self.invite(conv, user).await.map(done(conv)),
            ClientFrame::Accept { conv } => self.accept(conv).await.map(done(conv)),
            ClientFrame::Decline { conv } => self.decline(conv).await.map(done(conv)),
            ClientFrame::Block { user } => self.block(user, req).await.map(|()| None),
            ClientFrame::Unblock { user } => self.unblock(user, req).await.map(|()| None),
            ClientFrame::Notify { conv, level, muted } => self
                .notify(conv, NotifySettings { level, muted }, req)
                .await
                .map(|()| None),
            ClientFrame::DoNotDisturb { on } => self.do_not_disturb(on, req).await.map(|()| None),
            ClientFrame::SetProfile { display_name } => {
                self.set_profile(display_name, req).await.map(|()| None)
            }
            ClientFrame::Leave { conv } => self.leave(conv).await.map(done(conv)),
            ClientFrame::Remove { conv, user } => self.remove(conv, user).await.map(done(conv)),
            ClientFrame::RenameRoom { conv, name } => self.rename(conv, name).await.map(done(conv)),
            ClientFrame::Members { conv } => self.members(conv, req).await.map(|()| None),
            ClientFrame::History {
                conv,
                before,
                limit,
            } => self.history(conv, before, limit, req).await.map(|()| None),
            ClientFrame::Typing { conv } => self.typing(conv).await.map(done(conv)),
            ClientFrame::Read { conv, seq } => self.read(conv, seq).await.map(done(conv)),
        }
    }

    /// Tells this user's other devices (on every node) `frame`, and this one as the answer to
    /// `req`: how a change to the user's own state (blocks, notification settings) is shared.
    fn share_with_devices(&self, frame: &ServerFrame, req: Option<&Req>) {
        self.hub
            .to_user(self.user(), Some(self.id), &encode(frame), Origin::Local);
        self.reply(frame, req);
    }

    /// Refuses unless this user is a member of `conv`; the members otherwise.
    async fn require_member(&self, conv: ConvId) -> Result<Arc<Vec<UserId>>, Refusal> {
        let members = self.hub.members(conv).await?;
        if members.is_empty() {
            Err(refuse(
                ErrorCode::NotFound,
                format!("no conversation {conv}"),
            ))
        } else if !members.contains(&self.user()) {
            Err(refuse(
                ErrorCode::Forbidden,
                format!("you are not in conversation {conv}"),
            ))
        } else {
            Ok(members)
        }
    }

    async fn resume(&mut self, cursors: Vec<Cursor>, req: Option<&Req>) -> Result<(), Refusal> {
        if self.resumed {
            return Err(refuse(ErrorCode::InvalidRequest, "already resumed"));
        }
        self.resumed = true;
        self.hub
            .go_online(self.id, self.mailbox.clone(), cursors, req.cloned())
            .await?;
        Ok(())
    }

    /// Checks and charges `message` (its sender is this connection's user), then hands it to
    /// the group commit, which acks it.
    async fn send(&mut self, message: NewMessage, req: Option<&Req>) -> Result<(), Refusal> {
        check_id(&message.client_msg_id)?;
        check_body(&message.body, self.limits.max_body_chars)?;
        let (client_msg_id, conv) = (message.client_msg_id.clone(), message.conv);
        // The budget before membership: the members of a conversation not cached (or not
        // existing) cost a store query, which a flood must not get for free.
        let now = std::time::Instant::now();
        if let Err(wait) = self.sends.check(&client_msg_id, now) {
            return Err(limited(
                "an earlier message was refused; send it again first",
                wait,
            ));
        }
        if let Err(wait) = self.limits.message(self.user()) {
            self.sends.refused(client_msg_id, wait, now);
            return Err(limited("too many messages", wait));
        }
        let members = self.require_member(conv).await?;
        self.require_not_blocked(conv, members.len()).await?;
        if let Some(reply_to) = message.reply_to {
            self.check_reply(conv, reply_to).await?;
        }
        self.committer
            .submit(message, self.mailbox.clone(), req.cloned())
            .await;
        Ok(())
    }

    async fn typing(&self, conv: ConvId) -> Result<(), Refusal> {
        let members = self.require_member(conv).await?;
        if let Err(wait) = self.limits.typing(self.user(), conv) {
            return Err(limited("typing notices about once a second", wait));
        }
        let text = encode(&ServerFrame::Typing {
            conv,
            user: self.user(),
        });
        self.hub
            .ephemeral(&members, self.user(), &text, Origin::Local);
        Ok(())
    }

    async fn read(&self, conv: ConvId, seq: Seq) -> Result<(), Refusal> {
        self.require_member(conv).await?;
        let last = self.store.last_seq(conv).await?;
        if seq.0 < 0 || seq > last {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                format!("seq {seq} is past the end of conversation {conv} ({last})"),
            ));
        }
        let stored = self.store.set_read(self.user(), conv, seq).await?;
        let text = encode(&ServerFrame::ReadState { conv, seq: stored });
        self.hub
            .to_user(self.user(), Some(self.id), &text, Origin::Local);
        Ok(())
    }

    /// The connection is ending: stop live delivery and, if this was the user's last one,
    /// tell their contacts they went offline.
    pub async fn finish(&self) {
        if !self.resumed {
            return;
        }
        self.hub.go_offline(self.id).await;
    }
}
