//! Invitations to rooms that wait for an answer: made by a member, listed to the invitee, taken
//! when they accept or decline, withdrawn when the inviter leaves or is removed. Nothing here
//! writes to a room's seq: accepting is a membership change (`rooms/members.rs`). One text per
//! statement for both databases.
//!
//! Depends on `rows` and the protocol's invitation type.

use crate::{
    protocol::{ConvId, Invitation, UserId},
    server::store::{Store, StoreError, rows::Columns},
};

/// What an invite request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invited {
    /// A new pending invitation.
    Pending(Invitation),
    /// The invitee already has one to this room (nothing written).
    Already,
    /// The invitee holds as many pending invitations as allowed (nothing written).
    InviteeFull,
    /// The room has as many pending invitations out as allowed (nothing written).
    RoomFull,
}

/// The most pending invitations, per invitee and per room.
#[derive(Clone, Copy, Debug)]
pub struct InvitationCaps {
    /// Per invitee.
    pub per_user: usize,
    /// Per room.
    pub per_room: usize,
}

/// An invitation with the room's name and the inviter's username, from the columns `conv_id`,
/// `name`, `inviter_id`, `username`, `at`.
const SELECT: &str = "SELECT i.conv_id, c.name, i.inviter_id, u.username, i.at
                      FROM invitations i
                      JOIN conversations c ON c.id = i.conv_id
                      JOIN users u ON u.id = i.inviter_id";

fn invitation_from<R: Columns>(row: &R) -> Result<Invitation, sqlx::Error> {
    Ok(Invitation {
        conv: ConvId(row.int("conv_id")?),
        name: row.opt_text("name")?.unwrap_or_default(),
        from: UserId(row.int("inviter_id")?),
        from_name: row.text("username")?,
        at: row.int("at")?,
    })
}

/// Runs `sql` (binding two ids) on `store` and returns the ids its rows' one column holds.
async fn ids(store: &Store, sql: &'static str, a: i64, b: i64) -> Result<Vec<i64>, StoreError> {
    Ok(on_backend!(store, db => sqlx::query_scalar(sql)
        .bind(a)
        .bind(b)
        .fetch_all(&db.pool)
        .await?))
}

fn cap(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Records `inviter`'s invitation of `invitee` to the room `conv`, within `caps`.
    pub async fn invite(
        &self,
        conv: ConvId,
        invitee: UserId,
        inviter: UserId,
        at: i64,
        caps: InvitationCaps,
    ) -> Result<Invited, StoreError> {
        const INSERT: &str = "INSERT INTO invitations (conv_id, invitee_id, inviter_id, at)
             SELECT $1, $2, $3, $4
             WHERE (SELECT COUNT(*) FROM invitations WHERE invitee_id = $2) < $5
               AND (SELECT COUNT(*) FROM invitations WHERE conv_id = $1) < $6
             ON CONFLICT DO NOTHING";
        const PENDING: &str =
            "SELECT EXISTS (SELECT 1 FROM invitations WHERE conv_id = $1 AND invitee_id = $2)";
        const HELD: &str = "SELECT COUNT(*) FROM invitations WHERE invitee_id = $1";
        // The counts and the insert must be one step. SQLite has one writer at a time, so the
        // statement is; on Postgres two statements at once would both see room for one more,
        // so each first takes the invitee's and the room's transaction locks (always in that
        // order). A lock key is the id folded into an `int`: two ids sharing one only wait.
        const LOCK: (&str, &str) = (
            "SELECT $1 + $2",
            "SELECT 1 FROM (SELECT pg_advisory_xact_lock(1, ($2 % 2147483647)::int),
                                   pg_advisory_xact_lock(2, ($1 % 2147483647)::int)) l",
        );
        let added = on_backend!(self, db => {
            let mut tx = db.pool.begin().await?;
            sqlx::query(db.pick(LOCK.0, LOCK.1))
                .bind(conv.0)
                .bind(invitee.0)
                .execute(&mut *tx)
                .await?;
            let added = sqlx::query(INSERT)
                .bind(conv.0)
                .bind(invitee.0)
                .bind(inviter.0)
                .bind(at)
                .bind(cap(caps.per_user))
                .bind(cap(caps.per_room))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            added
        });
        if added > 0 {
            let one = format!("{SELECT} WHERE i.conv_id = $1 AND i.invitee_id = $2");
            let found = on_backend!(self, db => {
                let row = sqlx::query(&one)
                    .bind(conv.0)
                    .bind(invitee.0)
                    .fetch_optional(&db.pool)
                    .await?;
                row.as_ref().map(invitation_from).transpose()?
            });
            // Answered meanwhile (declined at once): nothing pending to announce.
            return Ok(found.map_or(Invited::Already, Invited::Pending));
        }
        let (pending, held): (bool, i64) = on_backend!(self, db => {
            let pending = sqlx::query_scalar(PENDING)
                .bind(conv.0)
                .bind(invitee.0)
                .fetch_one(&db.pool)
                .await?;
            let held = sqlx::query_scalar(HELD).bind(invitee.0).fetch_one(&db.pool).await?;
            (pending, held)
        });
        Ok(if pending {
            Invited::Already
        } else if held >= cap(caps.per_user) {
            Invited::InviteeFull
        } else {
            Invited::RoomFull
        })
    }

    /// `user`'s pending invitations, oldest room first.
    pub async fn invitations(&self, user: UserId) -> Result<Vec<Invitation>, StoreError> {
        let sql = format!("{SELECT} WHERE i.invitee_id = $1 ORDER BY i.conv_id");
        on_backend!(self, db => {
            let rows = sqlx::query(&sql).bind(user.0).fetch_all(&db.pool).await?;
            Ok(rows.iter().map(invitation_from).collect::<Result<_, _>>()?)
        })
    }

    /// Who invited `invitee` to `conv`, if they have a pending invitation.
    pub async fn pending_inviter(
        &self,
        conv: ConvId,
        invitee: UserId,
    ) -> Result<Option<UserId>, StoreError> {
        const SQL: &str =
            "SELECT inviter_id FROM invitations WHERE conv_id = $1 AND invitee_id = $2";
        let found = ids(self, SQL, conv.0, invitee.0).await?;
        Ok(found.first().copied().map(UserId))
    }

    /// Takes (deletes) `invitee`'s invitation to `conv`: its inviter, or `None` if there was
    /// none.
    pub async fn take_invitation(
        &self,
        conv: ConvId,
        invitee: UserId,
    ) -> Result<Option<UserId>, StoreError> {
        const SQL: &str = "DELETE FROM invitations WHERE conv_id = $1 AND invitee_id = $2
                           RETURNING inviter_id";
        let taken = ids(self, SQL, conv.0, invitee.0).await?;
        Ok(taken.first().copied().map(UserId))
    }

    /// Withdraws every invitation `inviter` made to `conv` (they left or were removed): the
    /// invitees who had one.
    pub async fn withdraw_invitations(
        &self,
        conv: ConvId,
        inviter: UserId,
    ) -> Result<Vec<UserId>, StoreError> {
        const SQL: &str = "DELETE FROM invitations WHERE conv_id = $1 AND inviter_id = $2
                           RETURNING invitee_id";
        let gone = ids(self, SQL, conv.0, inviter.0).await?;
        Ok(gone.into_iter().map(UserId).collect())
    }

    /// Withdraws every invitation `inviter` made to `invitee` (who now blocks them): the rooms.
    pub async fn withdraw_invitations_from(
        &self,
        invitee: UserId,
        inviter: UserId,
    ) -> Result<Vec<ConvId>, StoreError> {
        const SQL: &str = "DELETE FROM invitations WHERE invitee_id = $1 AND inviter_id = $2
                           RETURNING conv_id";
        let gone = ids(self, SQL, invitee.0, inviter.0).await?;
        Ok(gone.into_iter().map(ConvId).collect())
    }
}
