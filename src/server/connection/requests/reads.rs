//! Answers that read the store and change nothing: `members`, `list_rooms`, `history`.
//!
//! Each is charged to the user's read budget by its size before it runs (`admit`), and each
//! answer is one bounded frame echoing the request's `req`.

use super::{Connection, Refusal, history_page, refuse, room_page};
use crate::protocol::{
    ConvId, ErrorCode, MAX_MEMBERS, MAX_ROOM_QUERY_CHARS, Req, Seq, ServerFrame,
};

impl Connection {
    /// Answers with up to [`MAX_MEMBERS`] members by username, and whether there are more:
    /// the answer to a huge room stays one bounded frame.
    pub(super) async fn members(&self, conv: ConvId, req: Option<&Req>) -> Result<(), Refusal> {
        self.require_member(conv).await?;
        let mut members = self
            .hub
            .member_list(conv, MAX_MEMBERS + 1, self.user())
            .await?;
        let more = members.len() > MAX_MEMBERS as usize;
        members.truncate(MAX_MEMBERS as usize);
        self.reply(
            &ServerFrame::Members {
                conv,
                members,
                more,
            },
            req,
        );
        Ok(())
    }

    /// Answers with one page of the public rooms, newest first, filtered by name.
    pub(super) async fn list_rooms(
        &self,
        query: Option<String>,
        after: Option<ConvId>,
        limit: Option<u32>,
        req: Option<&Req>,
    ) -> Result<(), Refusal> {
        let query = query.filter(|q| !q.trim().is_empty());
        if query
            .as_ref()
            .is_some_and(|q| q.chars().count() > MAX_ROOM_QUERY_CHARS)
        {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                format!("a room search is at most {MAX_ROOM_QUERY_CHARS} characters"),
            ));
        }
        let page = self
            .store
            .public_rooms(query.as_deref().map(str::trim), after, room_page(limit))
            .await?;
        self.reply(
            &ServerFrame::Rooms {
                rooms: page.rooms,
                query,
                after,
                next: page.next,
            },
            req,
        );
        Ok(())
    }

    pub(super) async fn history(
        &self,
        conv: ConvId,
        before: Seq,
        limit: u32,
        req: Option<&Req>,
    ) -> Result<(), Refusal> {
        self.require_member(conv).await?;
        let events = self
            .store
            .events_before(conv, before, history_page(limit))
            .await?;
        let more = events.first().is_some_and(|e| e.seq.0 > 1);
        self.reply(&ServerFrame::History { conv, events, more }, req);
        Ok(())
    }
}
