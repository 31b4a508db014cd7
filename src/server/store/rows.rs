//! Reading a row of either database: both have the same tables and columns (in their own
//! types), so a row of either decodes into the same Rust values through [`Columns`]. Each
//! feature maps its rows to its records with it, once for both databases.
//!
//! The bottom of the store: depends on sqlx only.

use sqlx::{ColumnIndex, Decode, Row, Type};

/// A result row of either backend, read by column name as the few types the store keeps.
pub(super) trait Columns {
    /// A non-null integer column.
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    /// A nullable integer column.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    /// A non-null text column.
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    /// A boolean column (or expression).
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
}

impl<R> Columns for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(column)
    }

    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }

    fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.try_get(column)
    }
}

/// Whether `err` is a broken uniqueness rule.
pub(super) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
