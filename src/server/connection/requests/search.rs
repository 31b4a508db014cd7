//! `search`: one page of the messages the user may read that match some words, newest first.
//!
//! Charged to the user's search budget before it runs (`admit`). The text is bounded and split
//! into words by the protocol's own rule; a conversation named as a filter must be one the user
//! is in (a typed refusal otherwise, as for `history`); every hit is checked for membership in
//! the store's query itself, so a conversation the user left, a deleted message or a blocked
//! sender's message is never found. The answer is one frame of at most [`MAX_SEARCH_PAGE`] hits.

use super::{Connection, Refusal, refuse};
use crate::{
    auth::username_key,
    protocol::{
        ClientFrame, ErrorCode, MAX_SEARCH_CHARS, MAX_SEARCH_PAGE, Req, SEARCH_PAGE, ServerFrame,
        search_terms,
    },
    server::store::SearchQuery,
};

impl Connection {
    /// Answers a `search` frame (`dispatch` passes no other kind).
    pub(super) async fn search(
        &self,
        frame: ClientFrame,
        req: Option<&Req>,
    ) -> Result<(), Refusal> {
        let ClientFrame::Search {
            text,
            conv,
            from,
            after,
            before,
            page,
            limit,
        } = frame
        else {
            return Err(refuse(ErrorCode::InvalidRequest, "not a search"));
        };
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                format!("a search is at most {MAX_SEARCH_CHARS} characters"),
            ));
        }
        let terms = search_terms(&text);
        if terms.is_empty() {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "search for at least one word of two or more letters or digits",
            ));
        }
        if let Some(conv) = conv {
            self.require_member(conv).await?;
        }
        let limit = limit.unwrap_or(SEARCH_PAGE).clamp(1, MAX_SEARCH_PAGE);
        // A `from` that cannot be a username names nobody: no hits, not an error.
        let hits = match from.as_deref().map(username_key).transpose() {
            Ok(from) => {
                let query = SearchQuery {
                    terms: terms.clone(),
                    conv,
                    from,
                    after,
                    before,
                    page,
                    limit,
                };
                self.store.search(self.user(), &query).await?
            }
            Err(_) => Vec::new(),
        };
        let next = (hits.len() == limit as usize)
            .then(|| hits.last().map(|hit| hit.cursor()))
            .flatten();
        self.reply(
            &ServerFrame::SearchResults {
                text,
                terms,
                hits,
                page,
                next,
            },
            req,
        );
        Ok(())
    }
}
