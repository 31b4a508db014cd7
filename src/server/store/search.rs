//! Full-text search over messages: SQLite FTS5 in the embedded store, a Postgres `tsvector`
//! with a GIN index in the cluster (`migrations/*/0008_search.sql`, whose triggers keep the
//! index in step with `events`: a message's current text is indexed, a deletion drops it).
//!
//! Every hit is checked in the query itself: the searcher is a member of its conversation now
//! (someone who left finds nothing there), it is a message (a deleted one is a tombstone and no
//! longer indexed), and its sender is not someone the searcher blocks. Hits come newest first,
//! and a page continues from the last hit's `(at, conv, seq)`, so paging costs one index range
//! per page, whatever came before.
//!
//! Depends on `rows` and the protocol's search types.

use std::sync::LazyLock;

use crate::{
    protocol::{ConvId, SearchCursor, SearchHit, Seq, UserId},
    server::store::{Store, StoreError, rows::Columns},
};

/// One search: the words (from [`crate::protocol::search_terms`], at least one) and filters.
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    /// Every one must occur, as a word or the start of one.
    pub terms: Vec<String>,
    /// Only this conversation.
    pub conv: Option<ConvId>,
    /// Only messages from the user with this username key (lower-cased username).
    pub from: Option<String>,
    /// Only messages sent at or after this time, Unix milliseconds.
    pub after: Option<i64>,
    /// Only messages sent before this time, Unix milliseconds.
    pub before: Option<i64>,
    /// Only hits older than this one (the previous page's last).
    pub page: Option<SearchCursor>,
    /// At most this many hits.
    pub limit: u32,
}

/// The filters and the page, the same for both databases from `$3` on; `$1` is the searcher and
/// `$2` the match expression. `r` is the index's row of a message, `m` the message's event.
const FILTERS: &str = "
      AND ($3 IS NULL OR r.conv_id = $3)
      AND ($4 IS NULL OR r.sender_id = (SELECT id FROM users WHERE username_key = $4))
      AND ($5 IS NULL OR r.at >= $5)
      AND ($6 IS NULL OR r.at < $6)
      AND ($7 IS NULL OR (r.at, r.conv_id, r.seq) < ($7, $8, $9))
      AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = $1 AND b.blocked_id = r.sender_id)
    ORDER BY r.at DESC, r.conv_id DESC, r.seq DESC
    LIMIT $10";

/// The columns of a hit: the sender's display name, the message's own text and its latest
/// edit's, if any.
const COLUMNS: &str = "SELECT r.conv_id, r.seq, r.sender_id, u.display_name, r.at, m.body,
      (SELECT e.body FROM events e
       WHERE e.conv_id = r.conv_id AND e.target_seq = r.seq AND e.kind = 'edited'
       ORDER BY e.seq DESC LIMIT 1) AS edit_body";

/// The SQLite statement.
static SQLITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{COLUMNS}
    FROM message_search s
    JOIN message_search_rows r ON r.id = s.rowid
    JOIN members mb ON mb.conv_id = r.conv_id AND mb.user_id = $1
    JOIN events m ON m.conv_id = r.conv_id AND m.seq = r.seq AND m.kind = 'message'
    JOIN users u ON u.id = r.sender_id
    WHERE message_search MATCH $2 {FILTERS}"
    )
});

/// The Postgres statement.
static POSTGRES: LazyLock<String> = LazyLock::new(|| {
    // Postgres wants the type of a parameter that is only compared with NULL.
    let filters = FILTERS
        .replace("($3 IS NULL", "($3::BIGINT IS NULL")
        .replace("($4 IS NULL", "($4::TEXT IS NULL")
        .replace("($5 IS NULL", "($5::BIGINT IS NULL")
        .replace("($6 IS NULL", "($6::BIGINT IS NULL")
        .replace("($7 IS NULL", "($7::BIGINT IS NULL")
        .replace("($7, $8, $9)", "($7::BIGINT, $8::BIGINT, $9::BIGINT)");
    format!(
        "{COLUMNS}
    FROM message_search r
    JOIN members mb ON mb.conv_id = r.conv_id AND mb.user_id = $1
    JOIN events m ON m.conv_id = r.conv_id AND m.seq = r.seq AND m.kind = 'message'
    JOIN users u ON u.id = r.sender_id
    WHERE r.words @@ to_tsquery('simple', $2) {filters}"
    )
});

/// FTS5's match expression: every term as a quoted prefix (terms are letters and digits only,
/// and a quote is doubled all the same).
fn fts5_match(terms: &[String]) -> String {
    let quoted: Vec<String> = terms
        .iter()
        .map(|t| format!("\"{}\"*", t.replace('"', "\"\"")))
        .collect();
    quoted.join(" ")
}

/// Postgres' `tsquery` text: every term as a prefix, all of them required.
fn tsquery(terms: &[String]) -> String {
    let parts: Vec<String> = terms
        .iter()
        .map(|t| format!("'{}':*", t.replace('\'', "''")))
        .collect();
    parts.join(" & ")
}

fn hit_from<R: Columns>(row: &R) -> Result<SearchHit, sqlx::Error> {
    let edit = row.opt_text("edit_body")?;
    Ok(SearchHit {
        conv: ConvId(row.int("conv_id")?),
        seq: Seq(row.int("seq")?),
        from: UserId(row.int("sender_id")?),
        from_name: row.text("display_name")?,
        at: row.int("at")?,
        edited: edit.is_some(),
        body: match edit {
            Some(text) => text,
            None => row.opt_text("body")?.unwrap_or_default(),
        },
    })
}

impl Store {
    /// The messages `me` may read that match `query`, newest first.
    pub async fn search(
        &self,
        me: UserId,
        query: &SearchQuery,
    ) -> Result<Vec<SearchHit>, StoreError> {
        if query.terms.is_empty() || query.limit == 0 {
            return Ok(Vec::new());
        }
        let page = query.page;
        on_backend!(self, db => {
            let sql = db.pick(SQLITE.as_str(), POSTGRES.as_str());
            let dialect: fn(&[String]) -> String = db.pick(fts5_match, tsquery);
            let matching = dialect(&query.terms);
            let rows = sqlx::query(sql)
                .bind(me.0)
                .bind(matching)
                .bind(query.conv.map(|c| c.0))
                .bind(query.from.as_deref())
                .bind(query.after)
                .bind(query.before)
                .bind(page.map(|p| p.at))
                .bind(page.map(|p| p.conv.0))
                .bind(page.map(|p| p.seq.0))
                .bind(i64::from(query.limit))
                .fetch_all(&db.pool)
                .await?;
            Ok(rows.iter().map(hit_from).collect::<Result<_, _>>()?)
        })
    }
}
