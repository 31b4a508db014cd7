//! Backup and restore of a Postgres database without `pg_dump`: a logical export of the
//! switchboard tables, read back inside one transaction.
//!
//! The file is JSON lines. The first is a header (`{"format": "switchboard-postgres-backup",
//! "version": 1, "schema": <migration version>}`); then, for each table of [`TABLES`] in that
//! (dependency) order, a line `["table", "<name>"]` followed by one line per row, the row as
//! Postgres' own `row_to_json` wrote it; the last line is `["end", <rows in all>]`, so that a
//! file cut short is refused. A backup reads one snapshot (a repeatable-read, read-only
//! transaction) through a cursor, [`PAGE`] rows at a time, so servers keep running and memory
//! stays bounded; a restore reads the file line by line and inserts [`PAGE`] rows per statement
//! (`json_populate_recordset`, Postgres parsing its own JSON back).
//!
//! A restore replaces every row of those tables in one transaction: it migrates the database to
//! this build's schema, refuses while any server is connected to it (their connections are
//! named, see `store/postgres.rs`), empties the tables, loads the file, moves the id sequences
//! past the loaded ids and starts a new store epoch. Any failure rolls all of it back. What it
//! replaced is not kept: take a backup first.
//!
//! Depends on the Postgres connection and the epoch.

use std::{
    fs::File,
    io::{BufRead, BufReader, BufWriter, Write},
    path::Path,
};

use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};

use super::Restored;
use crate::server::store::{
    StoreError, epoch,
    postgres::{Postgres, RESTORE, SERVER, newer_schema},
    unknown_schema,
};

/// The header's `format`: what the file is.
const FORMAT: &str = "switchboard-postgres-backup";

/// The header's `version`: the layout of the file (not of the schema).
const VERSION: u64 = 1;

/// The `application_name` of a backup's connection (not a server's).
const BACKUP: &str = "switchboard-backup";

/// Every table with data, in dependency order (each refers only to tables before it), with its
/// key (the order its rows are written in) and whether its `id` is an identity column.
const TABLES: [(&str, &str, bool); 10] = [
    ("users", "id", true),
    ("sessions", "id", true),
    ("access_tokens", "id", true),
    ("conversations", "id", true),
    ("members", "conv_id, user_id", false),
    ("events", "conv_id, seq", false),
    ("read_cursors", "user_id, conv_id", false),
    ("reactions", "conv_id, target_seq, emoji, user_id", false),
    ("blocks", "user_id, blocked_id", false),
    ("invitations", "conv_id, invitee_id", false),
];

/// Rows per page, read or written: the number in [`FETCH`].
const PAGE: usize = 500;

/// The next page of the backup's cursor.
const FETCH: &str = "FETCH 500 FROM backup_rows";

/// A store error saying the file could not be written.
fn write_failed(err: std::io::Error) -> StoreError {
    StoreError::Refused(format!("cannot write the backup: {err}"))
}

/// The newest migration applied to the database on `conn`; refused when it has none (not a
/// switchboard database) or one this build does not know.
async fn schema_version(conn: &mut PgConnection) -> Result<i64, StoreError> {
    let has_history: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    let newest: Option<i64> = if has_history {
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?
    } else {
        None
    };
    if let Some((newest, known)) = unknown_schema(newest, &Postgres::migrator()) {
        return Err(StoreError::Refused(newer_schema(newest, known)));
    }
    newest.ok_or_else(|| {
        StoreError::Refused("the database holds no switchboard schema; nothing to back up".into())
    })
}

/// Writes the export of the database at `url` to `to` (which must not exist); its size in
/// bytes. A failed backup removes what it wrote.
pub(super) async fn backup(url: &str, to: &Path) -> Result<u64, StoreError> {
    let file = File::options()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::AlreadyExists => StoreError::Refused(format!(
                "{} exists; a backup never overwrites a file",
                to.display()
            )),
            _ => StoreError::Refused(format!("cannot create {}: {err}", to.display())),
        })?;
    match export(url, file).await {
        Ok(()) => Ok(std::fs::metadata(to).map(|m| m.len()).unwrap_or(0)),
        Err(err) => {
            let _ = std::fs::remove_file(to);
            Err(err)
        }
    }
}

/// Writes one line of the file.
fn line(out: &mut impl Write, text: &str) -> Result<(), StoreError> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .map_err(write_failed)
}

/// The export itself, from one snapshot, into `file`, flushed to disk.
async fn export(url: &str, file: File) -> Result<(), StoreError> {
    let options: PgConnectOptions = url.parse()?;
    let mut conn = PgConnection::connect_with(&options.application_name(BACKUP)).await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let schema = schema_version(&mut tx).await?;
    let mut out = BufWriter::new(file);
    let header = serde_json::json!({ "format": FORMAT, "version": VERSION, "schema": schema });
    line(&mut out, &header.to_string())?;
    let mut total: u64 = 0;
    for (table, key, _) in TABLES {
        line(&mut out, &serde_json::json!(["table", table]).to_string())?;
        let declare = format!(
            "DECLARE backup_rows NO SCROLL CURSOR FOR \
             SELECT row_to_json(t)::text FROM {table} t ORDER BY {key}"
        );
        sqlx::query(&declare).execute(&mut *tx).await?;
        loop {
            let page: Vec<String> = sqlx::query_scalar(FETCH).fetch_all(&mut *tx).await?;
            for row in &page {
                line(&mut out, row)?;
            }
            total += page.len() as u64;
            if page.len() < PAGE {
                break;
            }
        }
        sqlx::query("CLOSE backup_rows").execute(&mut *tx).await?;
    }
    line(&mut out, &serde_json::json!(["end", total]).to_string())?;
    let file = out
        .into_inner()
        .map_err(|err| write_failed(err.into_error()))?;
    file.sync_all().map_err(write_failed)?;
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}

/// The schema version in the header `first` (the file's first line), if it is one of ours.
fn read_header(first: Option<std::io::Result<String>>) -> Result<i64, String> {
    let not_ours = || "it is not a switchboard Postgres backup".to_owned();
    let text = first
        .ok_or_else(|| "it is empty".to_owned())?
        .map_err(|_| not_ours())?;
    let header: serde_json::Value = serde_json::from_str(&text).map_err(|_| not_ours())?;
    if header["format"] != FORMAT {
        return Err(not_ours());
    }
    if header["version"] != VERSION {
        return Err(format!(
            "its layout is version {}, not {VERSION}",
            header["version"]
        ));
    }
    header["schema"].as_i64().ok_or_else(not_ours)
}

/// Replaces every row of the switchboard tables of the database at `url` with the backup
/// `from`, in one transaction, and starts a new epoch. Refused, with the database untouched,
/// while a server is connected to it, and when `from` (a file) is not a backup of ours, is cut
/// short, from a newer release, or does not fit the schema.
pub(super) async fn restore(url: &str, from: &Path) -> Result<Restored, StoreError> {
    let refused = |why: String| super::refused(from, &"the database", &why);
    let file = File::open(from).map_err(|err| refused(format!("cannot open it: {err}")))?;
    let mut lines = BufReader::new(file).lines();
    let schema = read_header(lines.next()).map_err(refused)?;
    if let Some((schema, known)) = unknown_schema(Some(schema), &Postgres::migrator()) {
        return Err(refused(format!(
            "it is from a newer release (schema {schema}; this one knows {known})"
        )));
    }
    let db = Postgres::open(url, RESTORE).await?;
    let servers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind(SERVER)
    .fetch_one(&db.pool)
    .await?;
    if servers > 0 {
        return Err(StoreError::Refused(format!(
            "switchboard servers are using the database ({servers} connections); stop every \
             node first; nothing was changed"
        )));
    }
    let mut tx = db.pool.begin().await?;
    let names: Vec<&str> = TABLES.iter().map(|(table, ..)| *table).collect();
    // `message_search` is derived from `events`: emptied with it, refilled by its trigger as
    // the events load.
    sqlx::query(&format!("TRUNCATE message_search, {}", names.join(", ")))
        .execute(&mut *tx)
        .await?;
    load(&mut tx, lines)
        .await
        .map_err(|err| refused(err.to_string()))?;
    for (table, _, identity) in TABLES {
        if identity {
            let moved = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 COALESCE(MAX(id), 0) + 1, false) FROM {table}"
            );
            sqlx::query(&moved).execute(&mut *tx).await?;
        }
    }
    let epoch = epoch::renew_postgres(&mut *tx).await?;
    tx.commit().await?;
    Ok(Restored {
        kept: None,
        epoch: Some(epoch),
    })
}

/// Inserts one page of rows of `table` (JSON objects) and empties it.
async fn insert(
    conn: &mut PgConnection,
    table: &str,
    rows: &mut Vec<String>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {table} OVERRIDING SYSTEM VALUE \
         SELECT * FROM json_populate_recordset(NULL::{table}, $1::json)"
    );
    let page = format!("[{}]", rows.join(","));
    sqlx::query(&sql).bind(page).execute(&mut *conn).await?;
    rows.clear();
    Ok(())
}

/// Loads the lines after the header on `conn`: every table of [`TABLES`] in order, each row
/// into the table named before it, up to the end line, whose count must match.
async fn load(
    conn: &mut PgConnection,
    lines: impl Iterator<Item = std::io::Result<String>>,
) -> Result<u64, StoreError> {
    let refused = |why: String| StoreError::Refused(why);
    let mut tables = TABLES.iter().map(|(table, ..)| *table);
    let mut current: Option<&str> = None;
    let mut rows: Vec<String> = Vec::with_capacity(PAGE);
    let mut total: u64 = 0;
    for text in lines {
        let text = text.map_err(|err| refused(format!("cannot read it: {err}")))?;
        if text.starts_with('{') {
            let table = current.ok_or_else(|| refused("a row before any table".into()))?;
            rows.push(text);
            total += 1;
            if rows.len() == PAGE {
                insert(conn, table, &mut rows).await?;
            }
            continue;
        }
        if let Some(table) = current {
            insert(conn, table, &mut rows).await?;
        }
        let marker: (String, serde_json::Value) = serde_json::from_str(&text)
            .map_err(|_| refused(format!("line {text:?} is neither a row nor a marker")))?;
        match marker.0.as_str() {
            "table" => {
                let expected = tables.next();
                if expected.is_none() || marker.1.as_str() != expected {
                    return Err(refused(format!(
                        "it names table {} where {} belongs",
                        marker.1,
                        expected.unwrap_or("the end")
                    )));
                }
                current = expected;
            }
            "end" if tables.next().is_none() && marker.1.as_u64() == Some(total) => {
                return Ok(total);
            }
            _ => return Err(refused(format!("unexpected {text:?} after {total} rows"))),
        }
    }
    Err(refused("it is cut short (no end line)".into()))
}
