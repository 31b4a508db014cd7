//! Attacks with frames: a client asking for long history and never reading, and one user
//! sending costly frames as fast as they are answered.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use switchboard::{
    protocol::{
        ClientFrame, ClientMsgId, ConvId, ErrorCode, EventBody, Seq, ServerFrame, UserId,
        close_code, decode_server, encode_client,
    },
    server::accounts::Provisioned,
};
use tokio_tungstenite::tungstenite::Message;

use super::{Attack, Window};
use crate::{
    client::{self, Ws},
    server::ServerProcess,
};

/// Messages in the history room.
const HISTORY_MESSAGES: usize = 100;

/// Characters in each of them: the longest the protocol allows, so each page is ~400 KB.
const HISTORY_BODY_CHARS: usize = 4000;

/// How long one flood frame may wait for its answer before it counts as unanswered.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// The conversation the non-reader asks about, filled before the phases start.
pub struct HistoryRoom {
    /// Its id.
    conv: ConvId,
    /// Its newest seq: every request asks for the page before it.
    pub last: Seq,
}

impl HistoryRoom {
    /// `owner` creates a public room; `writers` join it and post [`HISTORY_MESSAGES`] long
    /// messages between them, each waiting for its ack.
    pub async fn fill(
        server: &ServerProcess,
        owner: &Provisioned,
        writers: &[&Provisioned],
    ) -> Result<Self, String> {
        // The owner's socket is closed before the messages are posted, so nothing backs up in
        // it; the non-reader connects as this user again for its phase.
        let conv = {
            let mut owner = client::connect(server.addr, 0, owner, false).await?;
            super::create_room(&mut owner.ws, "abuse-history", true).await?
        };
        let mut last = Seq(0);
        let per_writer = HISTORY_MESSAGES.div_ceil(writers.len().max(1));
        for (w, account) in writers.iter().enumerate() {
            let mut writer = client::connect(server.addr, w + 1, account, false).await?;
            super::join(&mut writer.ws, conv).await?;
            for k in 0..per_writer {
                let mut body = format!("history {w}-{k} ");
                body.extend(std::iter::repeat_n('x', HISTORY_BODY_CHARS - body.len()));
                let id = ClientMsgId(format!("history-{w}-{k}"));
                let frame = ClientFrame::Send {
                    client_msg_id: id.clone(),
                    conv,
                    body,
                    reply_to: None,
                };
                let acked = super::ask(
                    &mut writer.ws,
                    &frame,
                    |f| matches!(f, ServerFrame::Ack { client_msg_id, .. } if *client_msg_id == id),
                )
                .await?;
                if let ServerFrame::Ack { seq, .. } = acked {
                    last = last.max(seq);
                }
            }
        }
        Ok(Self { conv, last })
    }
}

/// Connects as `account` with a tiny receive buffer, sends `requests` requests for the newest
/// page of `room` as fast as the server takes them, never reads, and holds the socket through
/// `window`. Then reads, to see whether the server evicted it.
pub async fn non_reader(
    addr: SocketAddr,
    account: &Provisioned,
    room: &HistoryRoom,
    requests: usize,
    window: Window,
) -> Attack {
    let mut attack = Attack {
        sockets: 1,
        ..Attack::default()
    };
    let mut ws = match client::connect(addr, 0, account, true).await {
        Ok(client) => client.ws,
        Err(err) => {
            attack
                .problems
                .push(format!("the non-reader could not connect: {err}"));
            return attack;
        }
    };
    tokio::time::sleep_until(window.start.into()).await;
    let frame = ClientFrame::History {
        conv: room.conv,
        before: Seq(room.last.0 + 1),
        limit: 100,
    };
    let text = encode_client(&frame);
    let mut sent = 0;
    while sent < requests {
        // A server that stops reading must not hold the phase past its end.
        let send = ws.send(Message::text(text.clone()));
        match tokio::time::timeout_at(window.until.into(), send).await {
            Ok(Ok(())) => sent += 1,
            Ok(Err(_)) | Err(_) => break,
        }
    }
    attack.count("requests_sent", sent as u64);
    tokio::time::sleep_until(window.until.into()).await;
    // What it finds when it reads again: pages, then close 4008, or the connection dropped
    // when not even the close frame fit.
    let evicted = ended_by_server(&mut ws, Duration::from_secs(5)).await;
    attack.count("evicted", u64::from(evicted));
    attack.count("still_open", u64::from(!evicted));
    attack
}

/// Reads for at most `limit`: whether the server closed the socket (with 4008, or by dropping
/// it) rather than leaving it open.
async fn ended_by_server(ws: &mut Ws, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline.into(), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                return frame.is_none_or(|f| u16::from(f.code) == close_code::TOO_SLOW);
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return true,
            Err(_) => return false,
        }
    }
}

/// Which costly frame a flood sends.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Rooms, each a new row and a new conversation for the flooder.
    CreateRoom,
    /// Renames of the flooder's own room: a stored event each.
    RenameRoom,
    /// Members of the crowd's room.
    Members,
    /// Read marks in the crowd's room: a store write each.
    Read,
    /// The public room directory.
    ListRooms,
    /// Joining and leaving the crowd's room: every member hears of each.
    JoinLeave,
}

impl Kind {
    /// Every kind, in the order the phases run them (join/leave last: it leaves the flooder's
    /// membership in any state).
    pub const ALL: [Kind; 6] = [
        Kind::CreateRoom,
        Kind::RenameRoom,
        Kind::Members,
        Kind::Read,
        Kind::ListRooms,
        Kind::JoinLeave,
    ];

    /// The frame's wire name, for the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::CreateRoom => "create_room",
            Kind::RenameRoom => "rename_room",
            Kind::Members => "members",
            Kind::Read => "read",
            Kind::ListRooms => "list_rooms",
            Kind::JoinLeave => "join_room/leave",
        }
    }
}

/// The answer that shows a flood frame was applied.
enum Expect {
    /// A conversation announced with this name (`create_room`) or id (`join_room`).
    Conversation(Option<String>, Option<ConvId>),
    /// The `renamed` event with this name.
    Renamed(String),
    /// `gone` for this conversation, or its `left` event from us.
    Left(ConvId),
    /// `members` of this conversation.
    Members(ConvId),
    /// `rooms`.
    Rooms,
    /// The pong with this nonce: `read` has no answer of its own, so a ping follows it and
    /// its pong shows the read was handled (frames on one connection are handled in order).
    Pong(u64),
}

/// How the server answered one flood frame.
enum Answer {
    /// It did what was asked.
    Applied,
    /// It refused with this code.
    Refused(ErrorCode),
    /// Nothing came within [`ANSWER_TIMEOUT`].
    Unanswered,
    /// The connection ended.
    Closed,
}

/// The user who floods frames: one socket, used in a closed loop.
pub struct Flooder {
    /// Its socket.
    ws: Ws,
    /// Who it is, to tell its own `left` events.
    user: UserId,
    /// A room it owns: renamed over and over.
    own: ConvId,
    /// The crowd's room: joined and left, so every well-behaved member hears of each change.
    crowd: ConvId,
    /// Whether it is in the crowd's room now (join/leave alternate).
    member: bool,
    /// Makes names and nonces unique.
    next: u64,
}

impl Flooder {
    /// Connects as `account`, creates a private room of its own and joins the crowd's.
    pub async fn connect(
        server: &ServerProcess,
        account: &Provisioned,
        crowd: ConvId,
    ) -> Result<Self, String> {
        let mut client = client::connect(server.addr, 3, account, false).await?;
        let own = super::create_room(&mut client.ws, "abuse-flooder", false).await?;
        super::join(&mut client.ws, crowd).await?;
        Ok(Self {
            ws: client.ws,
            user: client.user,
            own,
            crowd,
            member: true,
            next: 0,
        })
    }

    /// Sends `kind` frames through `window`, each as soon as the last was answered; counts how
    /// the server answered them.
    pub async fn flood(&mut self, kind: Kind, window: Window) -> Attack {
        let mut attack = Attack::default();
        tokio::time::sleep_until(window.start.into()).await;
        while Instant::now() < window.until {
            let (frames, expect) = self.next_request(kind);
            attack.count("sent", 1);
            match self.exchange(&frames, &expect).await {
                Answer::Applied => {
                    attack.count("applied", 1);
                    if matches!(kind, Kind::JoinLeave) {
                        self.member = !self.member;
                    }
                }
                Answer::Refused(ErrorCode::RateLimited) => attack.count("rate_limited", 1),
                Answer::Refused(_) => attack.count("refused_other", 1),
                Answer::Unanswered => attack.count("unanswered", 1),
                Answer::Closed => {
                    attack.count("closed", 1);
                    attack
                        .problems
                        .push(format!("the server closed the {} flooder", kind.name()));
                    break;
                }
            }
        }
        attack
    }

    /// The next frame(s) of a `kind` flood, and the answer that shows it applied.
    fn next_request(&mut self, kind: Kind) -> (Vec<ClientFrame>, Expect) {
        self.next += 1;
        let n = self.next;
        match kind {
            Kind::CreateRoom => {
                let name = format!("flood-{n}");
                let frame = ClientFrame::CreateRoom {
                    name: name.clone(),
                    // Private: the directory the `list_rooms` flood reads stays the same size.
                    public: false,
                };
                (vec![frame], Expect::Conversation(Some(name), None))
            }
            Kind::RenameRoom => {
                let name = format!("renamed-{n}");
                let frame = ClientFrame::RenameRoom {
                    conv: self.own,
                    name: name.clone(),
                };
                (vec![frame], Expect::Renamed(name))
            }
            Kind::Members => (
                vec![ClientFrame::Members { conv: self.crowd }],
                Expect::Members(self.crowd),
            ),
            Kind::Read => (
                vec![
                    ClientFrame::Read {
                        conv: self.crowd,
                        seq: Seq(1),
                    },
                    ClientFrame::Ping { nonce: n },
                ],
                Expect::Pong(n),
            ),
            Kind::ListRooms => (
                vec![ClientFrame::ListRooms {
                    query: None,
                    after: None,
                    limit: None,
                }],
                Expect::Rooms,
            ),
            Kind::JoinLeave if self.member => (
                vec![ClientFrame::Leave { conv: self.crowd }],
                Expect::Left(self.crowd),
            ),
            Kind::JoinLeave => (
                vec![ClientFrame::JoinRoom { conv: self.crowd }],
                Expect::Conversation(None, Some(self.crowd)),
            ),
        }
    }

    /// Sends `frames` and reads until the answer `expect` describes, a refusal, the end of the
    /// connection or [`ANSWER_TIMEOUT`]. Anything else (the crowd's traffic) is skipped.
    async fn exchange(&mut self, frames: &[ClientFrame], expect: &Expect) -> Answer {
        for frame in frames {
            if self
                .ws
                .send(Message::text(encode_client(frame)))
                .await
                .is_err()
            {
                return Answer::Closed;
            }
        }
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let text = match tokio::time::timeout_at(deadline.into(), self.ws.next()).await {
                Err(_) => return Answer::Unanswered,
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(Message::Close(_))) | Some(Err(_)) | None) => return Answer::Closed,
                Ok(Some(Ok(_))) => continue,
            };
            let Ok(frame) = decode_server(text.as_str()) else {
                continue;
            };
            if let ServerFrame::Error { code, .. } = frame {
                return Answer::Refused(code);
            }
            if self.answers(expect, &frame) {
                return Answer::Applied;
            }
        }
    }

    /// Whether `frame` is the answer `expect` describes.
    fn answers(&self, expect: &Expect, frame: &ServerFrame) -> bool {
        match (expect, frame) {
            (Expect::Conversation(name, id), ServerFrame::Conversation(c)) => {
                name.as_ref().is_none_or(|n| *n == c.name) && id.is_none_or(|id| id == c.id)
            }
            (Expect::Renamed(name), ServerFrame::Event(e)) => {
                matches!(&e.body, EventBody::Renamed { name: n } if n == name)
            }
            (Expect::Left(conv), ServerFrame::Gone { conv: c }) => c == conv,
            (Expect::Left(conv), ServerFrame::Event(e)) => {
                e.conv == *conv && e.from == self.user && matches!(e.body, EventBody::Left {})
            }
            (Expect::Members(conv), ServerFrame::Members { conv: c, .. }) => c == conv,
            (Expect::Rooms, ServerFrame::Rooms { .. }) => true,
            (Expect::Pong(nonce), ServerFrame::Pong { nonce: n }) => n == nonce,
            _ => false,
        }
    }
}
