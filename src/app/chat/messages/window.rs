//! The part of a long conversation that is in the page.
//!
//! However many messages the model holds, the list draws at most [`WINDOW`] rows: following the
//! newest while the reader is at the bottom, and moving by [`STEP`] rows when they scroll near
//! either end of what is drawn. The window starts at a seq, not an index, so older history
//! arriving above it moves nothing. The reader's place survives every change: the first row
//! on screen is noted on each scroll and put back where it was after the rows change.

use leptos::{
    wasm_bindgen::JsCast,
    web_sys::{Element, HtmlElement, HtmlOListElement},
};

use super::Row;
use crate::protocol::Seq;

/// The most rows in the page at once (a message row is about ten nodes).
pub(super) const WINDOW: usize = 150;
/// How many rows the window moves by when the reader nears one of its ends.
pub(super) const STEP: usize = 50;

/// Where the window starts: `None` follows the newest rows.
pub(super) type Top = Option<Seq>;

/// The seq of the event at or below row `index` (a divider belongs to the event under it).
fn seq_at(rows: &[Row], index: usize) -> Option<Seq> {
    rows.get(index..)?.iter().find_map(|row| match row {
        Row::Event { event, .. } => Some(event.seq),
        _ => None,
    })
}

/// The first row of the event at or after `seq`, with the dividers just above it.
fn first_at(rows: &[Row], seq: Seq) -> usize {
    let mut index = rows
        .iter()
        .position(|row| matches!(row, Row::Event { event, .. } if event.seq >= seq))
        .unwrap_or(rows.len());
    while index > 0 && !matches!(rows[index - 1], Row::Event { .. }) {
        index -= 1;
    }
    index
}

/// The rows drawn, `start..end`, for a window starting at `top`: always as full as the rows
/// allow, so a window near the newest rows reaches them.
pub(super) fn range(rows: &[Row], top: Top) -> (usize, usize) {
    let latest = rows.len().saturating_sub(WINDOW);
    let start = top.map_or(latest, |seq| first_at(rows, seq).min(latest));
    (start, (start + WINDOW).min(rows.len()))
}

/// The window that starts at row `index`; one that would reach the newest row follows it.
pub(super) fn top_at(rows: &[Row], index: usize) -> Top {
    if index + WINDOW >= rows.len() {
        None
    } else {
        seq_at(rows, index)
    }
}

/// The window holding the row of `seq` a few rows from its top, for a jump to it.
pub(super) fn around(rows: &[Row], seq: Seq) -> Top {
    top_at(rows, first_at(rows, seq).saturating_sub(STEP / 5))
}

/// The drawn row of the event with this seq (as its `data-seq` attribute spells it).
pub(super) fn row(list: &HtmlOListElement, seq: &str) -> Option<Element> {
    let selector = format!("[data-seq=\"{seq}\"]");
    list.query_selector(&selector).ok().flatten()
}

/// Where the reader is: the first row (with a seq) not scrolled out above the list's top, and
/// how far its top lies below the list's top, in pixels. (The list is the rows' offset parent.)
pub(super) fn reading_place(list: &HtmlOListElement) -> Option<(String, i32)> {
    let scrolled = list.scroll_top();
    let children = list.children();
    (0..children.length())
        .filter_map(|i| children.item(i))
        .filter_map(|el| el.dyn_into::<HtmlElement>().ok())
        .filter_map(|el| el.get_attribute("data-seq").map(|seq| (seq, el)))
        .find_map(|(seq, el)| {
            let top = el.offset_top() - scrolled;
            (top + el.offset_height() > 0).then_some((seq, top))
        })
}

/// Scrolls `list` so the row noted by [`reading_place`] is where it was, if it is still drawn.
pub(super) fn keep_place(list: &HtmlOListElement, place: &(String, i32)) {
    let Some(el) = row(list, &place.0).and_then(|el| el.dyn_into::<HtmlElement>().ok()) else {
        return;
    };
    let moved = el.offset_top() - list.scroll_top() - place.1;
    if moved != 0 {
        list.set_scroll_top(list.scroll_top() + moved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ConvId, Event, EventBody, UserId};

    fn message(seq: i64) -> Row {
        Row::Event {
            event: Event {
                conv: ConvId(1),
                seq: Seq(seq),
                from: UserId(1),
                at: 0,
                body: EventBody::Joined {},
            },
            continued: false,
            state: None,
            quoted: None,
        }
    }

    /// Seqs 1..=n, with an unread divider above `unread_at`.
    fn rows(n: i64, unread_at: i64) -> Vec<Row> {
        let mut out = Vec::new();
        for seq in 1..=n {
            if seq == unread_at {
                out.push(Row::Unread);
            }
            out.push(message(seq));
        }
        out
    }

    #[test]
    fn following_draws_the_newest_rows_and_all_of_a_short_list() {
        let long = rows(1000, 0);
        assert_eq!(range(&long, None), (1000 - WINDOW, 1000));
        let short = rows(40, 0);
        assert_eq!(range(&short, None), (0, 40));
        assert_eq!(range(&short, Some(Seq(30))), (0, 40));
    }

    #[test]
    fn a_window_starts_at_its_seq_however_much_arrives_above() {
        let all = rows(1000, 0);
        let top = top_at(&all, 400);
        assert_eq!(top, Some(Seq(401)));
        assert_eq!(range(&all, top), (400, 400 + WINDOW));
        // Older history held above it shifts the indices, not the rows drawn.
        let mut more: Vec<Row> = (-99..=0).map(message).collect();
        more.extend(all);
        let (start, end) = range(&more, top);
        assert_eq!((start, end), (500, 500 + WINDOW));
    }

    #[test]
    fn a_window_that_would_reach_the_newest_row_follows() {
        let all = rows(1000, 0);
        assert_eq!(top_at(&all, 1000 - WINDOW), None);
        assert_eq!(top_at(&all, 1000 - WINDOW - 1), Some(Seq(850)));
        // A seq near the end still draws a full window.
        assert_eq!(range(&all, Some(Seq(990))), (1000 - WINDOW, 1000));
    }

    #[test]
    fn a_divider_starts_with_the_message_below_it() {
        let all = rows(1000, 300);
        let index = first_at(&all, Seq(300));
        assert!(matches!(all[index], Row::Unread));
        assert_eq!(top_at(&all, index), Some(Seq(300)));
        assert_eq!(range(&all, Some(Seq(300))).0, index);
        // A jump keeps a few rows above its target.
        let (start, end) = range(&all, around(&all, Seq(500)));
        assert!(start < first_at(&all, Seq(500)) && first_at(&all, Seq(500)) < end);
    }
}
