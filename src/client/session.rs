//! One logical client over any number of connections: it keeps its cursors and its outbox
//! across reconnects, and reads the server's frames through them.

use std::{
    collections::VecDeque,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::{
    ClientError, Outbox, Socket, Take, Target, Tracker, open,
    wire::{self, Hello},
};
use crate::protocol::{ClientFrame, ClientMsgId, ConvId, Epoch, Req, ServerFrame, UserId};

/// How long [`Session::recv`] waits for a frame unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// One frame from the server, with what the session made of it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The frame.
    pub frame: ServerFrame,
    /// The `req` of the request it answers, if any.
    pub req: Option<Req>,
    /// For an `event`: whether it was new, a duplicate, or came after a gap.
    pub take: Option<Take>,
}

impl Received {
    /// Whether this is an event the session already had.
    pub fn is_duplicate(&self) -> bool {
        self.take == Some(Take::Duplicate)
    }
}

/// A connected client: the socket, what its hello said, the cursors and the outbox.
///
/// Connecting sends `resume` with the tracked cursors (none after a hello of another store
/// epoch) and then every unacknowledged message again, with its id. Reading keeps both up to
/// date: events move the cursors, acks and final refusals empty the outbox.
pub struct Session {
    socket: Socket,
    hello: Hello,
    tracker: Tracker,
    outbox: Outbox,
    /// Frames read while waiting for a request's answer, handed out by `recv` first.
    backlog: VecDeque<Received>,
    next_req: i64,
    timeout: Duration,
}

impl Session {
    /// Connects with no history and an empty outbox (ids prefixed by the time of day, so a
    /// later run does not reuse them).
    pub async fn connect(target: &Target) -> Result<Self, ClientError> {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        Self::connect_with(target, Tracker::new(), Outbox::new(format!("c{micros}"))).await
    }

    /// Connects carrying over `tracker` (cursors) and `outbox` (messages to resend).
    pub async fn connect_with(
        target: &Target,
        mut tracker: Tracker,
        outbox: Outbox,
    ) -> Result<Self, ClientError> {
        let mut socket = open(target).await?;
        let hello = wire::read_hello(&mut socket, DEFAULT_TIMEOUT).await?;
        tracker.hello(&hello.epoch);
        wire::send_frame(
            &mut socket,
            &ClientFrame::Resume {
                cursors: tracker.cursors(),
            },
        )
        .await?;
        for frame in outbox.frames() {
            wire::send_frame(&mut socket, &frame).await?;
        }
        Ok(Self {
            socket,
            hello,
            tracker,
            outbox,
            backlog: VecDeque::new(),
            next_req: 0,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Connects again (to `target`: the same server or another node), keeping the cursors and
    /// the outbox; this connection is dropped.
    pub async fn reconnect(self, target: &Target) -> Result<Self, ClientError> {
        let timeout = self.timeout;
        let mut session = Self::connect_with(target, self.tracker, self.outbox).await?;
        session.timeout = timeout;
        Ok(session)
    }

    /// How long `recv` waits for the next frame.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// What the hello said.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// Who this session is.
    pub fn user(&self) -> UserId {
        self.hello.user
    }

    /// The store epoch the hello announced.
    pub fn epoch(&self) -> &Epoch {
        &self.hello.epoch
    }

    /// The cursors and dedupe state.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// The unacknowledged messages.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The socket itself, for what the protocol does not cover (raw frames, closing).
    pub fn socket_mut(&mut self) -> &mut Socket {
        &mut self.socket
    }

    /// Posts `body` to `conv` under a fresh id, kept in the outbox until acked.
    pub async fn send(&mut self, conv: ConvId, body: &str) -> Result<ClientMsgId, ClientError> {
        let id = self.outbox.push(conv, body);
        wire::send_frame(
            &mut self.socket,
            &self.outbox.pending()[self.outbox.len() - 1].frame(),
        )
        .await?;
        Ok(id)
    }

    /// Posts `body` to `conv` under the caller's id `id`, kept in the outbox until acked.
    pub async fn send_with_id(
        &mut self,
        id: ClientMsgId,
        conv: ConvId,
        body: &str,
    ) -> Result<(), ClientError> {
        self.outbox.push_with_id(id, conv, body);
        wire::send_frame(
            &mut self.socket,
            &self.outbox.pending()[self.outbox.len() - 1].frame(),
        )
        .await
    }

    /// Sends any frame as it is (not through the outbox, no `req`).
    pub async fn send_frame(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        wire::send_frame(&mut self.socket, frame).await
    }

    /// The next frame. A close is [`ClientError::Closed`] with its code.
    pub async fn recv(&mut self) -> Result<Received, ClientError> {
        if let Some(received) = self.backlog.pop_front() {
            return Ok(received);
        }
        let reply = wire::next_reply(&mut self.socket, self.timeout).await?;
        let mut take = None;
        match &reply.frame {
            ServerFrame::Event(event) => take = Some(self.tracker.take(event.conv, event.seq)),
            ServerFrame::Ack {
                client_msg_id, seq, ..
            } => {
                self.outbox.ack(client_msg_id, *seq);
            }
            ServerFrame::Error {
                code,
                client_msg_id: Some(id),
                ..
            } => {
                self.outbox.refused(id, *code);
            }
            ServerFrame::Gone { conv } => self.tracker.forget(*conv),
            _ => {}
        }
        Ok(Received {
            frame: reply.frame,
            req: reply.req,
            take,
        })
    }

    /// Reads until `synced` (the end of the replay `resume` asked for); returns what came
    /// before it.
    pub async fn synced(&mut self) -> Result<Vec<Received>, ClientError> {
        let mut replay = Vec::new();
        loop {
            let received = self.recv().await?;
            if matches!(received.frame, ServerFrame::Synced {}) {
                return Ok(replay);
            }
            replay.push(received);
        }
    }

    /// Sends `frame` with a fresh `req` and waits for the frame answering it; frames that come
    /// meanwhile are kept for `recv`. A refusal is [`ClientError::Refused`].
    pub async fn request(&mut self, frame: &ClientFrame) -> Result<ServerFrame, ClientError> {
        self.next_req += 1;
        let req = Req::Number(self.next_req);
        wire::send_request(&mut self.socket, frame, &req).await?;
        loop {
            let received = self.recv_fresh().await?;
            if received.req.as_ref() == Some(&req) {
                return match received.frame {
                    error @ ServerFrame::Error { .. } => Err(wire::refusal(error)),
                    answer => Ok(answer),
                };
            }
            self.backlog.push_back(received);
        }
    }

    /// Like `recv`, but never from the backlog (what `request` reads with).
    async fn recv_fresh(&mut self) -> Result<Received, ClientError> {
        let backlog = std::mem::take(&mut self.backlog);
        let received = self.recv().await;
        self.backlog = backlog;
        received
    }
}
