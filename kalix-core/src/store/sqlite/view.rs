//! View tables in SQLite: one table per view table, `(view_key, row)` with the row as JSON
//! text, and expression indexes on `json_extract(row, '$.column')`.

use super::SqliteStore;
use crate::store::ViewStore;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::Value;

use super::sqlite_error;
use crate::store::{ConsumerProgress, StoreError, ViewRowWrite, ViewRows, ViewTableSpec};
use crate::view::query::Query;
use crate::view::sql::{self, Bind, Sqlite};

/// The definitions of the view tables, to see when one changed.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS view_definition (
    view_table TEXT PRIMARY KEY,
    definition TEXT NOT NULL
) WITHOUT ROWID;
";

/// Creates the table and its indexes; empties it and resets its consumer if its definition
/// changed. Returns whether it was emptied.
pub(super) fn prepare(
    connection: &mut Connection,
    spec: &ViewTableSpec,
) -> Result<bool, StoreError> {
    let table = sql::table_name(spec.name);
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    transaction.execute_batch(SCHEMA).map_err(sqlite_error)?;
    transaction
        .execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (view_key TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID;"
        ))
        .map_err(sqlite_error)?;
    let stored: Option<String> = transaction
        .query_row(
            "SELECT definition FROM view_definition WHERE view_table = ?1",
            [spec.name],
            |row| row.get(0),
        )
        .optional()
        .map_err(sqlite_error)?;
    let rebuild = stored.as_deref() != Some(spec.definition.as_str());
    if rebuild {
        transaction
            .execute(&format!("DELETE FROM {table}"), [])
            .map_err(sqlite_error)?;
        transaction
            .execute(
                "DELETE FROM consumer_offset WHERE consumer = ?1",
                [&spec.consumer],
            )
            .map_err(sqlite_error)?;
        transaction
            .execute(
                "DELETE FROM consumer_seq WHERE consumer = ?1",
                [&spec.consumer],
            )
            .map_err(sqlite_error)?;
        transaction
            .execute(
                "INSERT INTO view_definition (view_table, definition) VALUES (?1, ?2) \
                 ON CONFLICT (view_table) DO UPDATE SET definition = excluded.definition",
                params![spec.name, spec.definition],
            )
            .map_err(sqlite_error)?;
    }
    let wanted = sql::index_definitions(&Sqlite, &table, &spec.indexes);
    let existing: Vec<String> = {
        let mut statement = transaction
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND name LIKE ?2")
            .map_err(sqlite_error)?;
        let names = statement
            .query_map(params![table, format!("{}%", sql::INDEX_PREFIX)], |row| {
                row.get(0)
            })
            .map_err(sqlite_error)?;
        names.collect::<Result<_, _>>().map_err(sqlite_error)?
    };
    for name in existing
        .iter()
        .filter(|n| !wanted.iter().any(|(w, _)| w == *n))
    {
        transaction
            .execute_batch(&format!("DROP INDEX IF EXISTS {name};"))
            .map_err(sqlite_error)?;
    }
    for (name, expressions) in &wanted {
        transaction
            .execute_batch(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {table} ({expressions});"
            ))
            .map_err(sqlite_error)?;
    }
    transaction.commit().map_err(sqlite_error)?;
    Ok(rebuild)
}

pub(super) fn rows(
    connection: &Connection,
    table: &str,
    keys: &[String],
) -> Result<Vec<(String, Bytes)>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT row FROM {} WHERE view_key = ?1",
            sql::table_name(table)
        ))
        .map_err(sqlite_error)?;
    let mut found = Vec::new();
    for key in keys {
        let row: Option<String> = statement
            .query_row([key], |row| row.get(0))
            .optional()
            .map_err(sqlite_error)?;
        if let Some(row) = row {
            found.push((key.clone(), Bytes::from(row)));
        }
    }
    Ok(found)
}

pub(super) fn commit(
    connection: &mut Connection,
    table: &str,
    writes: &[ViewRowWrite],
    consumer: &str,
    progress: &ConsumerProgress,
) -> Result<(), StoreError> {
    let table = sql::table_name(table);
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    {
        let mut upsert = transaction
            .prepare_cached(&format!(
                "INSERT INTO {table} (view_key, row) VALUES (?1, ?2) \
                 ON CONFLICT (view_key) DO UPDATE SET row = excluded.row"
            ))
            .map_err(sqlite_error)?;
        let mut delete = transaction
            .prepare_cached(&format!("DELETE FROM {table} WHERE view_key = ?1"))
            .map_err(sqlite_error)?;
        for write in writes {
            match &write.row {
                Some(row) => {
                    let text = std::str::from_utf8(row)
                        .map_err(|_| StoreError::rejected_write("a view row is not UTF-8 JSON"))?;
                    upsert.execute(params![write.key, text])
                }
                None => delete.execute([&write.key]),
            }
            .map_err(sqlite_error)?;
        }
    }
    super::feed::save_in(&transaction, consumer, progress)?;
    transaction.commit().map_err(sqlite_error)
}

fn bind_value(bind: &Bind) -> SqlValue {
    match bind {
        Bind::Text(text) => SqlValue::Text(text.clone()),
        Bind::List(list) => SqlValue::Text(list.to_string()),
        Bind::Count(n) => SqlValue::Integer(*n),
        Bind::Json(value) => match value {
            Value::Null => SqlValue::Null,
            Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(n) => SqlValue::Integer(n),
                None => SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(text) => SqlValue::Text(text.clone()),
            other => SqlValue::Text(other.to_string()),
        },
    }
}

/// The query's SQL and its bound values, or the caller's mistake.
fn prepared(
    query: &Query,
    params: &serde_json::Map<String, Value>,
) -> Result<(sql::Select, Vec<SqlValue>), StoreError> {
    let select = sql::select(&Sqlite, &sql::table_name, query, params)
        .map_err(|bad| StoreError::bad_query(bad.0))?;
    let binds = select.binds.iter().map(bind_value).collect();
    Ok((select, binds))
}

fn select_rows(
    connection: &Connection,
    query: &Query,
    params: &serde_json::Map<String, Value>,
) -> Result<ViewRows, StoreError> {
    let (select, binds) = prepared(query, params)?;
    let mut statement = connection
        .prepare_cached(&select.sql)
        .map_err(sqlite_error)?;
    let rows = statement
        .query_map(params_from_iter(binds.iter()), |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(sqlite_error)?;
    let rows: Vec<(String, Bytes)> = rows
        .map(|row| row.map(|(key, json)| (key, Bytes::from(json))))
        .collect::<Result<_, _>>()
        .map_err(sqlite_error)?;
    let total = match &select.count_sql {
        Some(count) => {
            let total: i64 = connection
                .prepare_cached(count)
                .map_err(sqlite_error)?
                .query_row(
                    params_from_iter(binds[..select.count_binds].iter()),
                    |row| row.get(0),
                )
                .map_err(sqlite_error)?;
            Some(total as u64)
        }
        None => None,
    };
    Ok(ViewRows { rows, total })
}

pub(super) fn explain(
    connection: &Connection,
    query: &Query,
    params: &serde_json::Map<String, Value>,
) -> Result<String, StoreError> {
    let (select, binds) = prepared(query, params)?;
    let mut statement = connection
        .prepare(&format!("EXPLAIN QUERY PLAN {}", select.sql))
        .map_err(sqlite_error)?;
    let lines = statement
        .query_map(params_from_iter(binds.iter()), |row| {
            row.get::<_, String>(3)
        })
        .map_err(sqlite_error)?;
    let lines: Vec<String> = lines.collect::<Result<_, _>>().map_err(sqlite_error)?;
    Ok(lines.join("\n"))
}

/// Empties the table and forgets its consumer's progress (one process: no lease to check).
fn reset(connection: &mut Connection, table: &str, consumer: &str) -> Result<(), StoreError> {
    let table = sql::table_name(table);
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    transaction
        .execute(&format!("DELETE FROM {table}"), [])
        .map_err(sqlite_error)?;
    for consumer_table in ["consumer_offset", "consumer_seq"] {
        transaction
            .execute(
                &format!("DELETE FROM {consumer_table} WHERE consumer = ?1"),
                [consumer],
            )
            .map_err(sqlite_error)?;
    }
    transaction.commit().map_err(sqlite_error)
}

impl ViewStore for SqliteStore {
    fn reset_view(
        &self,
        table: &str,
        consumer: &str,
        _owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (table, consumer) = (table.to_owned(), consumer.to_owned());
        self.write_outside_batches(move |connection| reset(connection, &table, &consumer))
    }

    fn prepare_view_table(
        &self,
        table: ViewTableSpec,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.write_outside_batches(move |connection| prepare(connection, &table))
    }

    fn view_rows(
        &self,
        table: &str,
        keys: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<(String, Bytes)>, StoreError>> {
        self.read(table, "", move |connection, table, _| {
            rows(connection, table, &keys)
        })
    }

    fn commit_view(
        &self,
        table: &str,
        writes: Vec<ViewRowWrite>,
        consumer: &str,
        progress: ConsumerProgress,
        // One process per file: the lease is always its own.
        _owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (table, consumer) = (table.to_owned(), consumer.to_owned());
        self.write_outside_batches(move |connection| {
            commit(connection, &table, &writes, &consumer, &progress)
        })
    }

    fn query_view(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<ViewRows, StoreError>> {
        self.read("", "", move |connection, _, _| {
            select_rows(connection, query, &params)
        })
    }

    fn explain_view_query(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<String, StoreError>> {
        self.read("", "", move |connection, _, _| {
            explain(connection, query, &params)
        })
    }
}
