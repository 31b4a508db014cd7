//! What people do to messages after sending them: edit, delete, react, take a reaction back.
//! Each is one event at the conversation's next seq, decided and stored in one transaction that
//! also checks everything the decision rests on (membership, the target, its sender, the room's
//! owner, the edit window, the reactions already there), so two devices or two nodes acting at
//! once cannot both pass a check that only one of them should.
//!
//! A deletion removes text, not only its visibility: the message's row and the rows of its
//! edits become `tombstone`s with no body, and their reactions go. On SQLite the connection runs
//! with `secure_delete` (freed bytes are zeroed) and the deletion asks for a truncating WAL
//! checkpoint (see `sqlite.rs`), so the text leaves the database file and its WAL; on Postgres
//! the old row versions stay in the table's heap file until a vacuum reuses their space.
//!
//! Depends on the two connections, `rows`, the event layout of `messages` and the protocol
//! types.

use super::{
    Store, StoreError,
    messages::{INSERT_EVENT, event_body_columns},
    rows::Columns,
};
use crate::protocol::{
    ClientMsgId, ConvId, Event, EventBody, MAX_REACTIONS_PER_MESSAGE, Seq, UserId,
};

/// What a [`NewAction`] does to its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Replaces the text (the sender's own message, within the window).
    Edit {
        /// The new text.
        body: String,
    },
    /// Deletes the message (the sender's own, or any in a room the sender owns).
    Delete,
    /// Adds the sender's reaction.
    React {
        /// One emoji.
        emoji: String,
    },
    /// Takes the sender's reaction back.
    Unreact {
        /// The emoji.
        emoji: String,
    },
}

/// An action on the message at `target` of `conv`, by `from`.
#[derive(Clone, Debug)]
pub struct NewAction {
    /// Where.
    pub conv: ConvId,
    /// Who (from the connection, never from the client).
    pub from: UserId,
    /// The sender's id for it; a retry with the same id is not stored twice.
    pub client_msg_id: ClientMsgId,
    /// The message's seq.
    pub target: Seq,
    /// What to do.
    pub action: Action,
    /// When it happens, Unix milliseconds.
    pub at: i64,
    /// The oldest a message may be (its `at`) and still be edited, Unix milliseconds.
    pub edit_since: i64,
}

/// Why an action was refused; nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The sender is not a member of the conversation.
    NotMember,
    /// No event at that seq in that conversation.
    NoTarget,
    /// The event there is not a message.
    NotAMessage,
    /// The message was deleted.
    Deleted,
    /// Someone else's message (and, for a deletion, not the room's owner).
    NotYours,
    /// Older than the edit window.
    TooOld,
    /// The message has [`MAX_REACTIONS_PER_MESSAGE`] distinct emoji already.
    TooManyReactions,
}

/// What became of a [`NewAction`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acted {
    /// Stored: the event to fan out.
    Stored(Event),
    /// A retry of an event already stored (by `(sender, client_msg_id)`): its conv and seq.
    Duplicate(ConvId, Seq),
    /// Nothing to change (the reaction is there already, or was not there to take back).
    Unchanged,
    /// Not allowed.
    Refused(Refused),
}

/// The stored event with this `(sender, client_msg_id)`: its conversation and seq.
const EARLIER: &str = "SELECT conv_id, seq FROM events WHERE sender_id = $1 AND client_msg_id = $2";
/// Whether `$2` is a member of `$1`.
const IS_MEMBER: &str = "SELECT COUNT(*) FROM members WHERE conv_id = $1 AND user_id = $2";
/// The target event's kind, sender and time, and its conversation's owner.
const TARGET: &str = "SELECT e.kind, e.sender_id, e.at, c.owner_id FROM events e
                      JOIN conversations c ON c.id = e.conv_id
                      WHERE e.conv_id = $1 AND e.seq = $2";
/// A deleted message's text goes; its seq, sender and `client_msg_id` (so a retried `send`
/// still finds its original) stay.
const TOMBSTONE_MESSAGE: &str =
    "UPDATE events SET kind = 'tombstone', body = NULL WHERE conv_id = $1 AND seq = $2";
/// So do the texts of its edits.
const TOMBSTONE_EDITS: &str = "UPDATE events SET kind = 'tombstone', body = NULL
                               WHERE conv_id = $1 AND target_seq = $2 AND kind = 'edited'";
/// And its reactions.
const DROP_REACTIONS: &str = "DELETE FROM reactions WHERE conv_id = $1 AND target_seq = $2";
/// Whether `$3` has reacted with `$4`; and how many distinct emoji the message has.
const REACTION_STATE: &str = "SELECT
       (SELECT COUNT(*) FROM reactions
        WHERE conv_id = $1 AND target_seq = $2 AND user_id = $3 AND emoji = $4) AS mine,
       (SELECT COUNT(*) FROM reactions
        WHERE conv_id = $1 AND target_seq = $2 AND emoji = $4) AS same,
       (SELECT COUNT(DISTINCT emoji) FROM reactions
        WHERE conv_id = $1 AND target_seq = $2) AS distinct_emoji";
const ADD_REACTION: &str =
    "INSERT INTO reactions (conv_id, target_seq, emoji, user_id, seq) VALUES ($1, $2, $3, $4, $5)";
const DROP_REACTION: &str = "DELETE FROM reactions
                             WHERE conv_id = $1 AND target_seq = $2 AND emoji = $3 AND user_id = $4";

/// The target as the transaction found it.
struct Target {
    kind: String,
    sender: UserId,
    at: i64,
    owner: Option<UserId>,
}

/// The verdict on `action` against `target`, before anything is written: `Ok` when it may go
/// on, the refusal otherwise. Reactions are judged further against the table.
fn judge(action: &NewAction, target: Option<&Target>) -> Result<(), Refused> {
    let Some(target) = target else {
        return Err(Refused::NoTarget);
    };
    match target.kind.as_str() {
        "message" => {}
        "tombstone" => return Err(Refused::Deleted),
        _ => return Err(Refused::NotAMessage),
    }
    let mine = target.sender == action.from;
    match action.action {
        Action::Edit { .. } if !mine => Err(Refused::NotYours),
        Action::Edit { .. } if target.at < action.edit_since => Err(Refused::TooOld),
        Action::Delete if !mine && target.owner != Some(action.from) => Err(Refused::NotYours),
        _ => Ok(()),
    }
}

/// The body of the event `action` stores.
fn event_body(action: &NewAction) -> EventBody {
    let target = action.target;
    match &action.action {
        Action::Edit { body } => EventBody::Edited {
            target,
            body: body.clone(),
        },
        Action::Delete => EventBody::Deleted { target },
        Action::React { emoji } => EventBody::Reacted {
            target,
            emoji: emoji.clone(),
        },
        Action::Unreact { emoji } => EventBody::Unreacted {
            target,
            emoji: emoji.clone(),
        },
    }
}

impl Store {
    /// Decides and stores `action` in one transaction (see the module doc). A retry finds its
    /// original; a refusal or a change that changes nothing writes nothing.
    pub async fn act(&self, action: &NewAction) -> Result<Acted, StoreError> {
        let (conv, from, target) = (action.conv, action.from, action.target);
        let body = event_body(action);
        let acted = on_backend!(self, db => {
            let mut tx = db.begin_write().await?;
            // The conversation's seq (and, on Postgres, its row lock) first, as every writer
            // takes it: from here on nothing else changes this conversation until commit.
            let Some(seq) = take_seq!(tx, conv)? else {
                return Ok(Acted::Refused(Refused::NoTarget));
            };
            let earlier: Option<(i64, i64)> = sqlx::query_as(EARLIER)
                .bind(from.0)
                .bind(action.client_msg_id.0.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let members: i64 = sqlx::query_scalar(IS_MEMBER)
                .bind(conv.0)
                .bind(from.0)
                .fetch_one(&mut *tx)
                .await?;
            let row = sqlx::query(TARGET)
                .bind(conv.0)
                .bind(target.0)
                .fetch_optional(&mut *tx)
                .await?;
            let found = row
                .map(|row| -> Result<Target, sqlx::Error> {
                    Ok(Target {
                        kind: row.text("kind")?,
                        sender: UserId(row.int("sender_id")?),
                        at: row.int("at")?,
                        owner: row.opt_int("owner_id")?.map(UserId),
                    })
                })
                .transpose()?;
            let verdict = if let Some((conv, seq)) = earlier {
                Err(Acted::Duplicate(ConvId(conv), Seq(seq)))
            } else if members == 0 {
                Err(Acted::Refused(Refused::NotMember))
            } else {
                judge(action, found.as_ref()).map_err(Acted::Refused)
            };
            let verdict = match (verdict, &action.action) {
                (Ok(()), Action::Delete) => {
                    for sql in [TOMBSTONE_MESSAGE, TOMBSTONE_EDITS, DROP_REACTIONS] {
                        sqlx::query(sql).bind(conv.0).bind(target.0).execute(&mut *tx).await?;
                    }
                    Ok(())
                }
                (Ok(()), Action::React { emoji }) => {
                    let (mine, same, distinct): (i64, i64, i64) = sqlx::query_as(REACTION_STATE)
                        .bind(conv.0)
                        .bind(target.0)
                        .bind(from.0)
                        .bind(emoji.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    if mine > 0 {
                        Err(Acted::Unchanged)
                    } else if same == 0 && distinct >= MAX_REACTIONS_PER_MESSAGE as i64 {
                        Err(Acted::Refused(Refused::TooManyReactions))
                    } else {
                        sqlx::query(ADD_REACTION)
                            .bind(conv.0)
                            .bind(target.0)
                            .bind(emoji.as_str())
                            .bind(from.0)
                            .bind(seq.0)
                            .execute(&mut *tx)
                            .await?;
                        Ok(())
                    }
                }
                (Ok(()), Action::Unreact { emoji }) => {
                    let dropped = sqlx::query(DROP_REACTION)
                        .bind(conv.0)
                        .bind(target.0)
                        .bind(emoji.as_str())
                        .bind(from.0)
                        .execute(&mut *tx)
                        .await?;
                    if dropped.rows_affected() == 0 { Err(Acted::Unchanged) } else { Ok(()) }
                }
                (verdict, _) => verdict,
            };
            match verdict {
                Err(answer) => {
                    // Nothing written: the seq taken above goes back with the rollback.
                    tx.rollback().await?;
                    answer
                }
                Ok(()) => {
                    // As `insert_event!`, with the action's `client_msg_id`, which the event
                    // body does not carry: it is what finds a retry.
                    let (kind, text, subject, _, target) = event_body_columns(&body);
                    sqlx::query(INSERT_EVENT)
                        .bind(conv.0)
                        .bind(seq.0)
                        .bind(action.at)
                        .bind(from.0)
                        .bind(kind)
                        .bind(text)
                        .bind(subject)
                        .bind(action.client_msg_id.0.as_str())
                        .bind(target)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    if matches!(action.action, Action::Delete) {
                        db.scrubbed();
                    }
                    Acted::Stored(Event { conv, seq, from, at: action.at, body })
                }
            }
        });
        Ok(acted)
    }

    /// The kind of the event at `seq` of `conv` (`None` if there is none): what a reply must
    /// point at is a `message`. Read outside the reply's transaction: a deletion that commits
    /// between this and the reply leaves a reply to a tombstone, as a deletion after it would.
    pub async fn event_kind(&self, conv: ConvId, seq: Seq) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT kind FROM events WHERE conv_id = $1 AND seq = $2";
        Ok(on_backend!(self, db => sqlx::query_scalar(SQL)
            .bind(conv.0)
            .bind(seq.0)
            .fetch_optional(&db.pool)
            .await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(from: i64, action: Action) -> NewAction {
        NewAction {
            conv: ConvId(1),
            from: UserId(from),
            client_msg_id: ClientMsgId("a".into()),
            target: Seq(3),
            action,
            at: 10_000,
            edit_since: 5_000,
        }
    }

    fn target(kind: &str, sender: i64, at: i64) -> Target {
        Target {
            kind: kind.into(),
            sender: UserId(sender),
            at,
            owner: Some(UserId(9)),
        }
    }

    #[test]
    fn own_messages_are_edited_within_the_window_and_deleted_by_their_sender_or_the_owner() {
        let edit = || Action::Edit { body: "x".into() };
        let message = target("message", 2, 6_000);
        assert_eq!(judge(&action(2, edit()), Some(&message)), Ok(()));
        assert_eq!(
            judge(&action(3, edit()), Some(&message)),
            Err(Refused::NotYours)
        );
        assert_eq!(
            judge(&action(9, edit()), Some(&message)),
            Err(Refused::NotYours),
            "owners do not edit"
        );
        let old = target("message", 2, 4_999);
        assert_eq!(judge(&action(2, edit()), Some(&old)), Err(Refused::TooOld));
        assert_eq!(
            judge(&action(2, Action::Delete), Some(&old)),
            Ok(()),
            "no window for deleting"
        );
        assert_eq!(judge(&action(9, Action::Delete), Some(&message)), Ok(()));
        assert_eq!(
            judge(&action(3, Action::Delete), Some(&message)),
            Err(Refused::NotYours)
        );
        let react = Action::React {
            emoji: "👍".into()
        };
        assert_eq!(judge(&action(3, react.clone()), Some(&message)), Ok(()));
        let tombstone = target("tombstone", 2, 6_000);
        assert_eq!(
            judge(&action(2, Action::Delete), Some(&tombstone)),
            Err(Refused::Deleted)
        );
        assert_eq!(
            judge(&action(3, react.clone()), Some(&tombstone)),
            Err(Refused::Deleted)
        );
        let join = target("joined", 2, 6_000);
        assert_eq!(
            judge(&action(2, edit()), Some(&join)),
            Err(Refused::NotAMessage)
        );
        assert_eq!(judge(&action(2, react), None), Err(Refused::NoTarget));
    }
}
