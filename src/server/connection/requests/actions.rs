//! What people do to messages: edit, delete, react, take a reaction back — and the check that a
//! reply points at a message.
//!
//! Each frame is checked for shape here (its id, the body or emoji), charged to the user's
//! action budget, and handed to the store, which decides and stores it in one transaction
//! (`store/actions.rs`): a stored action is one event at the conversation's next seq, answered
//! by `ack` and then published like every event, so it replays, orders and crosses the cluster
//! as messages do. A retry of a stored one (same `client_msg_id`) is acked with its original
//! seq; one that changes nothing (a reaction already there, or not there to take back) is acked
//! with seq 0 and stores nothing; a refusal is a typed `error`.

use super::{Connection, Refusal, limited, refuse};
use crate::{
    protocol::{
        ClientFrame, ClientMsgId, ConvId, ErrorCode, MAX_REACTIONS_PER_MESSAGE, Req, Seq,
        ServerFrame, is_reaction,
    },
    server::{
        clock::now_ms,
        routing::{Origin, Outgoing},
        store::{Acted, Action, NewAction, Refused},
        wire::encode,
    },
};

/// What the store's refusal means on the wire.
fn refusal(refused: Refused, conv: ConvId, target: Seq) -> Refusal {
    let code = match refused {
        Refused::NotMember | Refused::NotYours => ErrorCode::Forbidden,
        Refused::NoTarget => ErrorCode::NotFound,
        Refused::NotAMessage => ErrorCode::NotAMessage,
        Refused::Deleted => ErrorCode::MessageDeleted,
        Refused::TooOld => ErrorCode::EditWindowClosed,
        Refused::TooManyReactions => ErrorCode::TooManyReactions,
    };
    let message = match refused {
        Refused::NotMember => format!("you are not in conversation {conv}"),
        Refused::NoTarget => format!("no event {target} in conversation {conv}"),
        Refused::NotAMessage => format!("event {target} is not a message"),
        Refused::Deleted => format!("message {target} was deleted"),
        Refused::NotYours => {
            "only its sender edits a message; its sender or the room's owner deletes it".into()
        }
        Refused::TooOld => format!("message {target} is too old to edit"),
        Refused::TooManyReactions => {
            format!("a message has at most {MAX_REACTIONS_PER_MESSAGE} different reactions")
        }
    };
    refuse(code, message)
}

/// Refuses an id that is not 1 to 64 printable ASCII characters.
pub(super) fn check_id(client_msg_id: &ClientMsgId) -> Result<(), Refusal> {
    if client_msg_id.is_valid() {
        Ok(())
    } else {
        Err(refuse(
            ErrorCode::InvalidRequest,
            "client_msg_id must be 1 to 64 printable ASCII characters",
        ))
    }
}

/// Refuses a message text that is empty, only spaces, or over `max_chars` characters.
pub(super) fn check_body(body: &str, max_chars: usize) -> Result<(), Refusal> {
    if body.trim().is_empty() || body.chars().count() > max_chars {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            format!("a message is 1 to {max_chars} characters and not only spaces"),
        ));
    }
    Ok(())
}

impl Connection {
    /// Refuses a reply unless `reply_to` is a message of `conv` that was not deleted. The
    /// sender's membership is checked before this, so nobody learns of another conversation's
    /// events.
    pub(super) async fn check_reply(&self, conv: ConvId, reply_to: Seq) -> Result<(), Refusal> {
        match self.store.event_kind(conv, reply_to).await?.as_deref() {
            Some("message") => Ok(()),
            Some("tombstone") => Err(refusal(Refused::Deleted, conv, reply_to)),
            Some(_) => Err(refusal(Refused::NotAMessage, conv, reply_to)),
            None => Err(refusal(Refused::NoTarget, conv, reply_to)),
        }
    }

    /// Checks, charges and stores one `edit`, `delete`, `react` or `unreact` on the message it
    /// names, then acks it (echoing `req`) and publishes its event.
    pub(super) async fn act(&self, frame: ClientFrame, req: Option<&Req>) -> Result<(), Refusal> {
        let (Some(client_msg_id), Some((conv, target))) =
            (frame.client_msg_id().cloned(), frame.target())
        else {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "not an action on a message",
            ));
        };
        let action = match frame {
            ClientFrame::Edit { body, .. } => Action::Edit { body },
            ClientFrame::React { emoji, .. } => Action::React { emoji },
            ClientFrame::Unreact { emoji, .. } => Action::Unreact { emoji },
            _ => Action::Delete,
        };
        check_id(&client_msg_id)?;
        match &action {
            Action::Edit { body } => check_body(body, self.limits.max_body_chars)?,
            Action::React { emoji } | Action::Unreact { emoji } if !is_reaction(emoji) => {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "a reaction is exactly one emoji",
                ));
            }
            _ => {}
        }
        if let Err(wait) = self.limits.action(self.user()) {
            return Err(limited("too many edits and reactions", wait));
        }
        let at = now_ms();
        let window = i64::try_from(self.limits.edit_window.as_millis()).unwrap_or(i64::MAX);
        // A window of zero turns editing off: no message is recent enough.
        let edit_since = if window == 0 {
            i64::MAX
        } else {
            at.saturating_sub(window)
        };
        let action = NewAction {
            conv,
            from: self.user(),
            client_msg_id: client_msg_id.clone(),
            target,
            action,
            at,
            edit_since,
        };
        let (store, hub, _, mailbox) = self.owned();
        let req = req.cloned();
        self.detached(async move {
            let (conv, seq, event) = match store.act(&action).await? {
                Acted::Stored(event) => (event.conv, event.seq, Some(event)),
                Acted::Duplicate(conv, seq) => (conv, seq, None),
                Acted::Unchanged => (conv, Seq(0), None),
                Acted::Refused(refused) => return Err(refusal(refused, conv, target)),
            };
            let ack = ServerFrame::Ack {
                client_msg_id,
                conv,
                seq,
            };
            let text = crate::protocol::encode_reply(&ack, req.as_ref());
            mailbox.push(Outgoing::Frame(text.into()));
            if let Some(event) = event {
                let text = encode(&ServerFrame::Event(event));
                // Stored and acked; members' connections will find it when they next resume
                // or fill a gap.
                if let Err(err) = hub.publish(conv, seq, &text, Origin::Local).await {
                    tracing::error!(%err, "cannot load members for fan-out");
                }
            }
            Ok(())
        })
        .await
    }
}
