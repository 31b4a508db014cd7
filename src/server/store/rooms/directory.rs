//! The public room directory: one page at a time, newest room first, optionally filtered by
//! name.
//!
//! Order is by room id, descending: ids never change and never repeat, so a page boundary
//! (`after`, the last id of the previous page) is stable while rooms are created and renamed,
//! and the walk follows the primary key instead of sorting every room. The name filter is a
//! `LIKE` substring with the user's `%`, `_` and `\` escaped, so they match themselves.
//! Case: Postgres compares with `ILIKE` (any script); SQLite's `LIKE` folds ASCII letters only.
//! That, and how each database spells "is public" (so SQLite uses its partial index), makes the
//! one query of this module two texts, side by side.
//!
//! Depends on `rows` only.

use crate::{
    protocol::{ConvId, RoomListing},
    server::store::{Store, StoreError, rows::Columns},
};

/// One page of the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomPage {
    /// Up to the asked-for number of rooms, newest first.
    pub rooms: Vec<RoomListing>,
    /// The `after` of the next page; `None` on the last one.
    pub next: Option<ConvId>,
}

/// A `LIKE` pattern matching names that contain `text`, with `\` as the escape character.
fn contains_pattern(text: &str) -> String {
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

/// Up to `$3` public rooms with an id below `$1` (if not null) whose name is `LIKE` `$2` (if not
/// null; escape `\`), newest first, with their member counts `n`: SQLite.
const PAGE_SQLITE: &str = "SELECT c.id, c.name,
           (SELECT COUNT(*) FROM members m WHERE m.conv_id = c.id) AS n
     FROM conversations c
     WHERE c.kind = 'room' AND c.public = 1
       AND ($1 IS NULL OR c.id < $1)
       AND ($2 IS NULL OR c.name LIKE $2 ESCAPE '\\')
     ORDER BY c.id DESC LIMIT $3";

/// [`PAGE_SQLITE`] on Postgres (`ILIKE`).
const PAGE_POSTGRES: &str = "SELECT c.id, c.name,
           (SELECT COUNT(*) FROM members m WHERE m.conv_id = c.id) AS n
     FROM conversations c
     WHERE c.kind = 'room' AND c.public
       AND ($1::BIGINT IS NULL OR c.id < $1)
       AND ($2::TEXT IS NULL OR c.name ILIKE $2 ESCAPE '\\')
     ORDER BY c.id DESC LIMIT $3";

/// A public room from the columns `id`, `name` and `n` (its member count).
fn room_listing_from<R: Columns>(row: &R) -> Result<RoomListing, sqlx::Error> {
    Ok(RoomListing {
        id: ConvId(row.int("id")?),
        name: row.opt_text("name")?.unwrap_or_default(),
        members: u32::try_from(row.int("n")?).unwrap_or(u32::MAX),
    })
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
        let mut rooms: Vec<RoomListing> = on_backend!(self, db => {
            let rows = sqlx::query(db.pick(PAGE_SQLITE, PAGE_POSTGRES))
                .bind(after.map(|c| c.0))
                .bind(pattern.as_deref())
                .bind(fetch)
                .fetch_all(&db.pool)
                .await?;
            rows.iter().map(room_listing_from).collect::<Result<_, _>>()?
        });
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
