//! The public room directory: one page at a time, newest room first, optionally filtered by
//! name.
//!
//! Order is by room id, descending: ids never change and never repeat, so a page boundary
//! (`after`, the last id of the previous page) is stable while rooms are created and renamed,
//! and the walk follows the primary key instead of sorting every room. The name filter is a
//! `LIKE` substring with the user's `%`, `_` and `\` escaped, so they match themselves.
//! Case: Postgres compares with `ILIKE` (any script); SQLite's `LIKE` folds ASCII letters only.

use super::{Backend, Store, StoreError};
use crate::protocol::{ConvId, RoomListing};

/// One page of the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomPage {
    /// Up to the asked-for number of rooms, newest first.
    pub rooms: Vec<RoomListing>,
    /// The `after` of the next page; `None` on the last one.
    pub next: Option<ConvId>,
}

/// A `LIKE` pattern matching names that contain `text`, with `\` as the escape character.
pub(super) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Store {
    /// Up to `limit` public rooms older than `after` (all, if `None`) whose name contains
    /// `query` ignoring case, newest first.
    pub async fn public_rooms(
        &self,
        query: Option<&str>,
        after: Option<ConvId>,
        limit: u32,
    ) -> Result<RoomPage, StoreError> {
        let pattern = query.map(contains_pattern);
        // One row more than asked for tells whether another page exists.
        let fetch = i64::from(limit) + 1;
        let mut rooms = match &self.backend {
            Backend::Sqlite(db) => db.public_rooms(pattern.as_deref(), after, fetch).await?,
            Backend::Postgres(db) => db.public_rooms(pattern.as_deref(), after, fetch).await?,
        };
        let limit = limit as usize;
        let next = (rooms.len() > limit).then(|| {
            rooms.truncate(limit);
            rooms.last().map(|room| room.id)
        });
        Ok(RoomPage {
            rooms,
            next: next.flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_a_search_match_themselves() {
        assert_eq!(contains_pattern("gen"), "%gen%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }
}
