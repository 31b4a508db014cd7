//! The model of the public room directory: the search, the pages shown so far.
//!
//! The server answers `list_rooms` in order and echoes each request's `query` and `after`, so
//! the model keeps only answers to the search on screen: an answer to a search the user has
//! since changed, or to a page already replaced, is dropped.
//!
//! Part of the pure model: depends only on `protocol`.

use super::{ChatModel, Effect, Effects, Part};
use crate::protocol::{ClientFrame, ConvId, RoomListing};

/// What the directory shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomDirectory {
    /// The search the list answers ("" for every public room).
    pub query: String,
    /// The rooms shown, newest first; `None` until the first page arrives.
    pub rooms: Option<Vec<RoomListing>>,
    /// Where the next page starts, while there is one.
    pub next: Option<ConvId>,
    /// A page has been asked for and not answered yet.
    pub loading: bool,
}

/// The `query` a `list_rooms` for the search box's `text` carries: none for a blank box.
fn asked(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_owned())
}

impl ChatModel {
    /// Asks for the first page of public rooms whose name contains `query`.
    pub fn browse(&mut self, query: String) -> Effects {
        let asked = asked(&query);
        self.directory.query = query;
        self.directory.loading = true;
        self.touch(Part::Directory);
        vec![Effect::Send(ClientFrame::ListRooms {
            query: asked,
            after: None,
            limit: None,
        })]
    }

    /// Asks for the page after the ones shown, if there is one and it is not asked for yet.
    pub fn browse_more(&mut self) -> Effects {
        let d = &mut self.directory;
        let Some(after) = d.next.filter(|_| !d.loading) else {
            return Vec::new();
        };
        d.loading = true;
        let query = asked(&d.query);
        self.touch(Part::Directory);
        vec![Effect::Send(ClientFrame::ListRooms {
            query,
            after: Some(after),
            limit: None,
        })]
    }

    /// Takes in one `rooms` answer (see the module docs for which ones count).
    pub(super) fn take_rooms(
        &mut self,
        rooms: Vec<RoomListing>,
        query: Option<String>,
        after: Option<ConvId>,
        next: Option<ConvId>,
    ) {
        self.touch(Part::Directory);
        let d = &mut self.directory;
        // Compared as asked: a blank search is sent, and echoed, as none.
        if query != asked(&d.query) {
            return;
        }
        match (after, d.rooms.as_mut()) {
            (None, _) => d.rooms = Some(rooms),
            (Some(after), Some(shown)) if d.next == Some(after) => shown.extend(rooms),
            _ => return,
        }
        d.next = next;
        d.loading = false;
    }

    /// A whole member list of `conv` came: a listing of it shows its size from now on (the
    /// open directory is not asked again when people join or leave a room).
    pub(super) fn count_members(&mut self, conv: ConvId, count: usize) {
        let mut listed = self.directory.rooms.iter_mut().flatten();
        let Some(room) = listed.find(|r| r.id == conv) else {
            return;
        };
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        // Every refresh of a listed room's members comes here: redraw only on a new count.
        if room.members != count {
            room.members = count;
            self.touch(Part::Directory);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(id: i64) -> RoomListing {
        RoomListing {
            id: ConvId(id),
            name: format!("room {id}"),
            members: 1,
        }
    }

    fn shown(chat: &ChatModel) -> Option<Vec<i64>> {
        let rooms = chat.directory.rooms.as_ref()?;
        Some(rooms.iter().map(|r| r.id.0).collect())
    }

    #[test]
    fn answers_to_a_replaced_search_or_page_are_dropped() {
        let mut chat = ChatModel::default();
        chat.browse("gen".into());
        // An answer to the search before (all rooms) arrives late: not shown.
        chat.take_rooms(vec![listing(1)], None, None, None);
        assert_eq!(shown(&chat), None);
        chat.take_rooms(
            vec![listing(9), listing(8)],
            Some("gen".into()),
            None,
            Some(ConvId(8)),
        );
        assert_eq!(shown(&chat), Some(vec![9, 8]));
        chat.browse_more();
        assert!(chat.directory.loading);
        // A page that does not follow the one shown is not appended.
        chat.take_rooms(vec![listing(3)], Some("gen".into()), Some(ConvId(5)), None);
        assert_eq!(shown(&chat), Some(vec![9, 8]));
        chat.take_rooms(vec![listing(7)], Some("gen".into()), Some(ConvId(8)), None);
        assert_eq!(shown(&chat), Some(vec![9, 8, 7]));
        assert!(chat.directory.next.is_none() && !chat.directory.loading);
    }

    #[test]
    fn a_whole_member_list_updates_the_listed_size() {
        let mut chat = ChatModel::default();
        chat.browse(String::new());
        chat.take_rooms(vec![listing(4), listing(5)], None, None, None);
        chat.count_members(ConvId(5), 3);
        chat.count_members(ConvId(6), 9);
        let sizes: Vec<u32> = chat
            .directory
            .rooms
            .iter()
            .flatten()
            .map(|r| r.members)
            .collect();
        assert_eq!(sizes, vec![1, 3]);
    }

    #[test]
    fn an_answer_to_a_blank_search_is_shown() {
        let mut chat = ChatModel::default();
        chat.browse("  ".into());
        chat.take_rooms(vec![listing(2)], None, None, None);
        assert_eq!(shown(&chat), Some(vec![2]));
        assert!(!chat.directory.loading);
    }
}
