//! The public room directory on SQLite (see `store::directory` for the order and the filter).

use super::Sqlite;
use crate::{
    protocol::{ConvId, RoomListing},
    server::store::{StoreError, rows::room_listing_from},
};

impl Sqlite {
    /// Up to `limit` public rooms with an id below `after` whose name is `LIKE` `pattern`
    /// (escape `\`), newest first, with their member counts.
    pub async fn public_rooms(
        &self,
        pattern: Option<&str>,
        after: Option<ConvId>,
        limit: i64,
    ) -> Result<Vec<RoomListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.name, (SELECT COUNT(*) FROM members m WHERE m.conv_id = c.id) AS n
             FROM conversations c
             WHERE c.kind = 'room' AND c.public = 1
               AND (?1 IS NULL OR c.id < ?1)
               AND (?2 IS NULL OR c.name LIKE ?2 ESCAPE '\\')
             ORDER BY c.id DESC LIMIT ?3",
        )
        .bind(after.map(|c| c.0))
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(room_listing_from)
            .collect::<Result<_, _>>()?)
    }
}
