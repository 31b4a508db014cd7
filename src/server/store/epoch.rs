//! The store epoch (see [`crate::protocol::Epoch`]) as kept in the `store_epoch` table.
//!
//! One row. It is filled in by the first open of a store (a random value) and replaced when seqs
//! could repeat: by `admin restore` and `admin new-epoch`, and by the first open of a copy that
//! `admin backup` wrote (it marks the copy `renew`), so a backup put in place by hand starts a
//! new epoch too. A store reads it once, when it opens, and announces that value for its life:
//! the commands that change it refuse to run (SQLite) or are documented to need (Postgres) every
//! server on the database stopped.
//!
//! Depends on the store's error type and the clock only.

use crate::protocol::Epoch;
use crate::server::clock::now_ms;

use super::StoreError;

/// A new random epoch: 64 bits from the OS, as 16 lowercase hex digits.
pub fn fresh() -> Result<Epoch, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .map_err(|err| StoreError::Refused(format!("no random numbers for an epoch: {err}")))?;
    Ok(Epoch(bytes.iter().map(|b| format!("{b:02x}")).collect()))
}

/// Defines one `settle_*` function per backend: the SQL is the same text in both (SQLite reads
/// `TRUE` as 1 and `$n` as the n-th parameter).
macro_rules! settle_on {
    ($($name:ident: $db:ty),*) => {$(
        /// Settles the epoch of a store that is opening: creates it if there is none, replaces
        /// it if the database is a copy marked `renew`, and returns it. One transaction, so
        /// nodes opening one database together agree.
        pub async fn $name(pool: &sqlx::Pool<$db>) -> Result<Epoch, StoreError> {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO store_epoch (id, epoch, renew, changed_at) VALUES (1, $1, FALSE, $2)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(fresh()?.0)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            let renewed = sqlx::query(
                "UPDATE store_epoch SET epoch = $1, renew = FALSE, changed_at = $2
                 WHERE id = 1 AND renew = TRUE",
            )
            .bind(fresh()?.0)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            let epoch: String = sqlx::query_scalar("SELECT epoch FROM store_epoch WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            if renewed.rows_affected() > 0 {
                tracing::info!(%epoch, "opened a restored copy: started a new store epoch");
            }
            Ok(Epoch(epoch))
        }
    )*};
}

settle_on!(settle_sqlite: sqlx::Sqlite, settle_postgres: sqlx::Postgres);

/// Sets a new random epoch, creating the row if there is none; returns it.
const RENEW: &str =
    "INSERT INTO store_epoch (id, epoch, renew, changed_at) VALUES (1, $1, FALSE, $2)
     ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, renew = FALSE,
         changed_at = excluded.changed_at";

/// Defines one `renew_*` function per backend, on any executor of it (a connection, a pool, a
/// transaction): the same SQL in both.
macro_rules! renew_on {
    ($($name:ident: $db:ty),*) => {$(
        /// Replaces the epoch with a new random one (the caller makes sure no server uses the
        /// database, or documents that running ones keep the epoch they read at start);
        /// returns the new one. Works on a database that has no epoch yet.
        pub async fn $name<'e, E>(exec: E) -> Result<Epoch, StoreError>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let epoch = fresh()?;
            sqlx::query(RENEW)
                .bind(&epoch.0)
                .bind(now_ms())
                .execute(exec)
                .await?;
            Ok(epoch)
        }
    )*};
}

renew_on!(renew_sqlite: sqlx::Sqlite, renew_postgres: sqlx::Postgres);

/// Marks the copy on `conn` so that the first server to open it starts a new epoch.
pub async fn mark_for_renewal_sqlite(conn: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    sqlx::query("UPDATE store_epoch SET renew = TRUE WHERE id = 1")
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_epoch_is_sixteen_hex_digits_and_new_each_time() {
        let (a, b) = (fresh().unwrap(), fresh().unwrap());
        assert_eq!(a.0.len(), 16);
        assert!(a.0.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
