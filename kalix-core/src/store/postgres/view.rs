//! View tables in PostgreSQL: one table per view table in the store's schema,
//! `(view_key, row jsonb)`, with expression indexes on `(row #> '{column}')`.

use crate::store::ViewStore;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::{PostgresStore, db_error, pool_error};
use crate::store::{ConsumerProgress, StoreError, ViewRowWrite, ViewRows, ViewTableSpec};
use crate::view::query::Query;
use crate::view::sql::{self, Bind, Postgres};

impl PostgresStore {
    fn view_table(&self, table: &str) -> String {
        format!("{}.{}", self.schema, sql::table_name(table))
    }
}

/// Creates the table and its indexes; empties it and resets its consumer if its definition
/// changed. Returns whether it was emptied.
pub(super) async fn prepare(
    store: &PostgresStore,
    spec: &ViewTableSpec,
) -> Result<bool, StoreError> {
    let s = &store.schema;
    let table = store.view_table(spec.name);
    let bare = sql::table_name(spec.name);
    let mut client = store.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    // Every process prepares the table at start: one at a time.
    transaction
        .execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&format!("kalix-view-{s}-{}", spec.name)],
        )
        .await
        .map_err(db_error)?;
    transaction
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {s}.view_definition (
                 view_table TEXT PRIMARY KEY, definition TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS {table} (view_key TEXT PRIMARY KEY, row JSONB NOT NULL);"
        ))
        .await
        .map_err(db_error)?;
    let stored = transaction
        .query_opt(
            &format!("SELECT definition FROM {s}.view_definition WHERE view_table = $1"),
            &[&spec.name],
        )
        .await
        .map_err(db_error)?
        .map(|row| row.get::<_, String>(0));
    let rebuild = stored.as_deref() != Some(spec.definition.as_str());
    if rebuild {
        transaction
            .batch_execute(&format!("TRUNCATE {table}"))
            .await
            .map_err(db_error)?;
        for consumer_table in ["consumer_offset", "consumer_seq"] {
            transaction
                .execute(
                    &format!("DELETE FROM {s}.{consumer_table} WHERE consumer = $1"),
                    &[&spec.consumer],
                )
                .await
                .map_err(db_error)?;
        }
        transaction
            .execute(
                &format!(
                    "INSERT INTO {s}.view_definition (view_table, definition) VALUES ($1, $2) \
                     ON CONFLICT (view_table) DO UPDATE SET definition = excluded.definition"
                ),
                &[&spec.name, &spec.definition],
            )
            .await
            .map_err(db_error)?;
    }
    let wanted = sql::index_definitions(&Postgres, &bare, &spec.indexes);
    let existing: Vec<String> = transaction
        .query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexname LIKE $3",
            &[&&*store.schema, &bare, &format!("{}%", sql::INDEX_PREFIX)],
        )
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for name in existing
        .iter()
        .filter(|n| !wanted.iter().any(|(w, _)| w == *n))
    {
        transaction
            .batch_execute(&format!("DROP INDEX IF EXISTS {s}.{name}"))
            .await
            .map_err(db_error)?;
    }
    for (name, expressions) in wanted.iter().filter(|(n, _)| !existing.contains(n)) {
        transaction
            .batch_execute(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {table} ({expressions})"
            ))
            .await
            .map_err(db_error)?;
    }
    transaction.commit().await.map_err(db_error)?;
    Ok(rebuild)
}

pub(super) async fn rows(
    store: &PostgresStore,
    table: &str,
    keys: &[String],
) -> Result<Vec<(String, Bytes)>, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let rows = client
        .query(
            &format!(
                "SELECT view_key, row::text FROM {} WHERE view_key = ANY($1)",
                store.view_table(table)
            ),
            &[&keys],
        )
        .await
        .map_err(db_error)?;
    Ok(rows
        .iter()
        .map(|row| {
            (
                row.get::<_, String>(0),
                Bytes::from(row.get::<_, String>(1)),
            )
        })
        .collect())
}

/// Checks, in `transaction`, that `owner` holds the lease named `consumer`, and locks it until
/// the transaction ends so it cannot change hands under the write.
async fn check_lease(
    store: &PostgresStore,
    transaction: &deadpool_postgres::Transaction<'_>,
    consumer: &str,
    owner: u64,
) -> Result<(), StoreError> {
    let held = transaction
        .query_opt(
            &format!(
                "SELECT 1 FROM {}.lease WHERE name = $1 AND owner = $2 \
                 AND expires > clock_timestamp() FOR UPDATE",
                store.schema
            ),
            &[&consumer, &(owner as i64)],
        )
        .await
        .map_err(db_error)?
        .is_some();
    if held {
        Ok(())
    } else {
        Err(StoreError::lease_lost(format!(
            "the lease of {consumer} is no longer this process's"
        )))
    }
}

/// Empties the table and forgets its consumer's progress, fenced by the lease.
pub(super) async fn reset(
    store: &PostgresStore,
    table: &str,
    consumer: &str,
    owner: Option<u64>,
) -> Result<(), StoreError> {
    let s = &store.schema;
    let table = store.view_table(table);
    let mut client = store.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    if let Some(owner) = owner {
        check_lease(store, &transaction, consumer, owner).await?;
    }
    transaction
        .batch_execute(&format!("DELETE FROM {table}"))
        .await
        .map_err(db_error)?;
    for consumer_table in ["consumer_offset", "consumer_seq"] {
        transaction
            .execute(
                &format!("DELETE FROM {s}.{consumer_table} WHERE consumer = $1"),
                &[&consumer],
            )
            .await
            .map_err(db_error)?;
    }
    transaction.commit().await.map_err(db_error)
}

pub(super) async fn commit(
    store: &PostgresStore,
    table: &str,
    writes: &[ViewRowWrite],
    consumer: &str,
    progress: &ConsumerProgress,
    owner: Option<u64>,
) -> Result<(), StoreError> {
    let table = store.view_table(table);
    let mut client = store.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    if let Some(owner) = owner {
        check_lease(store, &transaction, consumer, owner).await?;
    }
    let upsert = transaction
        .prepare_cached(&format!(
            "INSERT INTO {table} (view_key, row) VALUES ($1, $2::text::jsonb) \
             ON CONFLICT (view_key) DO UPDATE SET row = excluded.row"
        ))
        .await
        .map_err(db_error)?;
    let delete = transaction
        .prepare_cached(&format!("DELETE FROM {table} WHERE view_key = $1"))
        .await
        .map_err(db_error)?;
    for write in writes {
        match &write.row {
            Some(row) => {
                let text = std::str::from_utf8(row)
                    .map_err(|_| StoreError::rejected_write("a view row is not UTF-8 JSON"))?;
                // `jsonb` cannot hold a NUL character: one in a row would fail this write, and
                // the view, for good. It is stored as U+FFFD instead.
                let text = if text.contains("\\u0000") {
                    tracing::warn!(table, key = %write.key, "a view row holds a NUL character; PostgreSQL stores it as U+FFFD");
                    std::borrow::Cow::Owned(text.replace("\\u0000", "\\ufffd"))
                } else {
                    std::borrow::Cow::Borrowed(text)
                };
                transaction.execute(&upsert, &[&write.key, &text.as_ref()]).await
            }
            None => transaction.execute(&delete, &[&write.key]).await,
        }
        .map_err(db_error)?;
    }
    super::feed::save_in(store, &transaction, consumer, progress).await?;
    transaction.commit().await.map_err(db_error)
}

/// The query's SQL and its values as PostgreSQL parameters (all text, cast to `jsonb` in the
/// SQL where they are compared as JSON), or the caller's mistake.
fn prepared(
    store: &PostgresStore,
    query: &Query,
    params: &serde_json::Map<String, Value>,
) -> Result<(sql::Select, Vec<String>), StoreError> {
    let select = sql::select(&Postgres, &|table| store.view_table(table), query, params)
        .map_err(|bad| StoreError::bad_query(bad.0))?;
    let texts: Vec<String> = select
        .binds
        .iter()
        .map(|bind| match bind {
            Bind::Json(value) | Bind::List(value) => value.to_string(),
            Bind::Text(text) => text.clone(),
            Bind::Count(n) => n.to_string(),
        })
        .collect();
    if texts
        .iter()
        .any(|t| t.contains('\0') || t.contains("\\u0000"))
    {
        return Err(StoreError::bad_query(
            "a query parameter holds a NUL character, which PostgreSQL cannot compare",
        ));
    }
    Ok((select, texts))
}

fn as_params(texts: &[String]) -> Vec<&(dyn ToSql + Sync)> {
    texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect()
}

async fn select_rows(
    store: &PostgresStore,
    query: &Query,
    params: &serde_json::Map<String, Value>,
) -> Result<ViewRows, StoreError> {
    let (select, texts) = prepared(store, query, params)?;
    let values = as_params(&texts);
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client.prepare_cached(&select.sql).await.map_err(db_error)?;
    let rows = client.query(&statement, &values).await.map_err(db_error)?;
    let rows = rows
        .iter()
        .map(|row| {
            (
                row.get::<_, String>(0),
                Bytes::from(row.get::<_, String>(1)),
            )
        })
        .collect();
    let total = match &select.count_sql {
        Some(count) => {
            let statement = client.prepare_cached(count).await.map_err(db_error)?;
            let total: i64 = client
                .query_one(&statement, &values[..select.count_binds])
                .await
                .map_err(db_error)?
                .get(0);
            Some(total as u64)
        }
        None => None,
    };
    Ok(ViewRows { rows, total })
}

pub(super) async fn explain(
    store: &PostgresStore,
    query: &Query,
    params: &serde_json::Map<String, Value>,
) -> Result<String, StoreError> {
    let (select, texts) = prepared(store, query, params)?;
    let values = as_params(&texts);
    let client = store.pool.get().await.map_err(pool_error)?;
    let rows = client
        .query(&format!("EXPLAIN {}", select.sql), &values)
        .await
        .map_err(db_error)?;
    Ok(rows
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n"))
}

impl ViewStore for PostgresStore {
    fn reset_view(
        &self,
        table: &str,
        consumer: &str,
        owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, table, consumer) = (self.clone(), table.to_owned(), consumer.to_owned());
        Box::pin(async move { reset(&store, &table, &consumer, owner).await })
    }

    fn prepare_view_table(
        &self,
        table: ViewTableSpec,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        let store = self.clone();
        Box::pin(async move { prepare(&store, &table).await })
    }

    fn view_rows(
        &self,
        table: &str,
        keys: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<(String, Bytes)>, StoreError>> {
        let (store, table) = (self.clone(), table.to_owned());
        Box::pin(async move { rows(&store, &table, &keys).await })
    }

    fn commit_view(
        &self,
        table: &str,
        writes: Vec<ViewRowWrite>,
        consumer: &str,
        progress: ConsumerProgress,
        owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, table, consumer) = (self.clone(), table.to_owned(), consumer.to_owned());
        Box::pin(async move { commit(&store, &table, &writes, &consumer, &progress, owner).await })
    }

    fn query_view(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<ViewRows, StoreError>> {
        let store = self.clone();
        Box::pin(async move { select_rows(&store, query, &params).await })
    }

    fn explain_view_query(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<String, StoreError>> {
        let store = self.clone();
        Box::pin(async move { explain(&store, query, &params).await })
    }
}
