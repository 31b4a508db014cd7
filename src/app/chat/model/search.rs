//! The model of the message search: what the person typed, the filters it names, the hits shown
//! so far, and where the next page starts.
//!
//! A typed search (`deploy from:ann in:ops after:2026-11-01`) is read by the protocol's
//! [`TypedSearch`]; `in:` names a conversation as the sidebar shows it, resolved here to its
//! id. The server answers in order and echoes each search's `text` and `page`, so only answers
//! to the search on screen are kept, as for the room directory. A refusal (a filter naming a
//! conversation one left, the budget) shows in the search's own panel.
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Effect, Effects, Part};
use crate::protocol::{ClientFrame, SearchCursor, SearchHit, TypedSearch, search_terms};

/// What the search panel shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageSearch {
    /// What was typed into the box; empty while no search is open.
    pub typed: String,
    /// The words matched, for highlighting (from the server's answer).
    pub terms: Vec<String>,
    /// The hits shown, newest first; `None` until the first page arrives.
    pub hits: Option<Vec<SearchHit>>,
    /// Where the next page starts, while there is one.
    pub next: Option<SearchCursor>,
    /// A page has been asked for and not answered yet.
    pub loading: bool,
    /// Why the search cannot be made or was refused.
    pub problem: Option<String>,
    /// The first page's request, which the next pages repeat with a `page`.
    asked: Option<ClientFrame>,
}

impl MessageSearch {
    /// Whether a search is open (its panel replaces the conversation list).
    pub fn is_open(&self) -> bool {
        !self.typed.is_empty()
    }
}

impl ChatModel {
    /// Searches for what was typed: the first page, or a problem to show when it names no
    /// word or a conversation the sidebar does not have.
    pub fn search(&mut self, typed: String) -> Effects {
        self.touch(Part::Search);
        let parsed = TypedSearch::parse(&typed);
        self.search = MessageSearch {
            typed,
            ..MessageSearch::default()
        };
        if search_terms(&parsed.text).is_empty() {
            self.search.problem =
                Some("Search for at least one word of two or more letters.".into());
            return Vec::new();
        }
        let conv = match &parsed.within {
            None => None,
            Some(name) => {
                let found = self
                    .conversations
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(name));
                match found {
                    Some(c) => Some(c.id),
                    None => {
                        self.search.problem = Some(format!("You have no conversation “{name}”."));
                        return Vec::new();
                    }
                }
            }
        };
        let frame = ClientFrame::Search {
            text: parsed.text,
            conv,
            from: parsed.from,
            after: parsed.after,
            before: parsed.before,
            page: None,
            limit: None,
        };
        self.search.asked = Some(frame.clone());
        self.search.loading = true;
        vec![Effect::Send(frame)]
    }

    /// Asks for the page after the hits shown, if there is one and it is not asked for yet.
    pub fn search_more(&mut self) -> Effects {
        let s = &mut self.search;
        let (Some(next), false, Some(mut frame)) = (s.next, s.loading, s.asked.clone()) else {
            return Vec::new();
        };
        if let ClientFrame::Search { page, .. } = &mut frame {
            *page = Some(next);
        }
        s.loading = true;
        self.touch(Part::Search);
        vec![Effect::Send(frame)]
    }

    /// Closes the search panel.
    pub fn close_search(&mut self) {
        self.search = MessageSearch::default();
        self.touch(Part::Search);
    }

    /// Takes in one `search_results` answer (see the module docs for which ones count).
    pub(super) fn take_search_results(
        &mut self,
        text: String,
        terms: Vec<String>,
        hits: Vec<SearchHit>,
        page: Option<SearchCursor>,
        next: Option<SearchCursor>,
    ) {
        let s = &mut self.search;
        let Some(ClientFrame::Search { text: asked, .. }) = &s.asked else {
            return;
        };
        if *asked != text {
            return;
        }
        match (page, s.hits.as_mut()) {
            (None, _) => s.hits = Some(hits),
            (Some(page), Some(shown)) if s.next == Some(page) => shown.extend(hits),
            _ => return,
        }
        s.terms = terms;
        s.next = next;
        s.loading = false;
        self.touch(Part::Search);
    }

    /// The search was refused: say why in its panel.
    pub(super) fn search_refused(&mut self, why: String) {
        self.search.loading = false;
        self.search.problem = Some(why);
        self.touch(Part::Search);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ConvId, ConvKind, ConvSummary, Epoch, Seq, UserId};

    fn hit(seq: i64) -> SearchHit {
        SearchHit {
            conv: ConvId(5),
            seq: Seq(seq),
            from: UserId(2),
            from_name: "Ben".into(),
            at: seq * 1000,
            body: format!("deploy {seq}"),
            edited: false,
        }
    }

    fn sent(effects: &Effects) -> Option<&ClientFrame> {
        effects.iter().find_map(|e| match e {
            Effect::Send(frame) => Some(frame),
            _ => None,
        })
    }

    fn with_ops() -> ChatModel {
        let mut chat = ChatModel::default();
        chat.conversations.push(ConvSummary {
            id: ConvId(5),
            kind: ConvKind::Room,
            name: "Ops".into(),
            public: true,
            peer: None,
            last_seq: Seq(9),
            read_seq: Seq(0),
            epoch: Epoch::default(),
            notify: Default::default(),
            last_at: 0,
        });
        chat
    }

    #[test]
    fn a_typed_search_becomes_one_frame_with_its_filters() {
        let mut chat = with_ops();
        let effects = chat.search("deploy from:@ann in:#ops".into());
        assert_eq!(
            sent(&effects),
            Some(&ClientFrame::Search {
                text: "deploy".into(),
                conv: Some(ConvId(5)),
                from: Some("ann".into()),
                after: None,
                before: None,
                page: None,
                limit: None,
            })
        );
        assert!(chat.search.loading && chat.search.is_open());
        // Nothing to send: a problem to show instead.
        assert!(chat.search("x in:ops".into()).is_empty());
        assert!(chat.search.problem.is_some());
        assert!(chat.search("deploy in:nowhere".into()).is_empty());
        assert_eq!(
            chat.search.problem.as_deref(),
            Some("You have no conversation “nowhere”.")
        );
        chat.close_search();
        assert!(!chat.search.is_open());
    }

    #[test]
    fn pages_follow_each_other_and_answers_to_a_replaced_search_are_dropped() {
        let mut chat = with_ops();
        chat.search("deploy".into());
        let terms = vec!["deploy".to_owned()];
        // A late answer to an earlier search: dropped.
        chat.take_search_results("old".into(), terms.clone(), vec![hit(1)], None, None);
        assert_eq!(chat.search.hits, None);
        let next = Some(hit(8).cursor());
        chat.take_search_results(
            "deploy".into(),
            terms.clone(),
            vec![hit(9), hit(8)],
            None,
            next,
        );
        assert_eq!(chat.search.hits.as_ref().map(Vec::len), Some(2));
        let more = chat.search_more();
        let Some(ClientFrame::Search { page, .. }) = sent(&more) else {
            panic!("a next page is asked for")
        };
        assert_eq!(*page, next);
        assert!(chat.search_more().is_empty(), "one page at a time");
        // A page that does not follow the one shown is not appended.
        let elsewhere = Some(hit(3).cursor());
        chat.take_search_results(
            "deploy".into(),
            terms.clone(),
            vec![hit(2)],
            elsewhere,
            None,
        );
        assert_eq!(chat.search.hits.as_ref().map(Vec::len), Some(2));
        chat.take_search_results("deploy".into(), terms, vec![hit(7)], next, None);
        assert_eq!(chat.search.hits.as_ref().map(Vec::len), Some(3));
        assert!(!chat.search.loading);
        assert!(chat.search_more().is_empty(), "the last page");
        chat.search_refused("Too much at once".into());
        assert_eq!(chat.search.problem.as_deref(), Some("Too much at once"));
    }
}
