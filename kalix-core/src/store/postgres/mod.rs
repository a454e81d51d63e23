//! The PostgreSQL backend: the same tables as SQLite, in one schema, shared safely by several
//! runtime processes through optimistic concurrency.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use futures_util::future::{BoxFuture, try_join_all};
use tokio_postgres::NoTls;

mod feed;
mod kept;
mod lease;
mod notify;
mod timer;
mod view;

use super::{
    ConsumerProgress, EventAppend, EventLog, FeedEntry, FeedKind, FeedOffset, Snapshot, StateWrite,
    Store, StoreError, StoredEvent, StoredMessage, StoredState, TimerOutcome, TimerRecord,
    TimerStart, TopicMessage, ViewRowWrite, ViewRows, ViewTableSpec, Write, WriteError,
};
use crate::view::query::Query;
use feed::FEED_COLUMNS;

/// How long a [`PostgresStore`] waits for the database; past each, the command fails with a 503
/// and the database's error is logged.
///
/// ```
/// let timeouts = kalix_core::store::PostgresTimeouts::default();
/// assert_eq!(timeouts.statement, std::time::Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresTimeouts {
    /// Longest a statement may run, and wait for a lock (`statement_timeout`, `lock_timeout`).
    pub statement: Duration,
    /// Longest a caller waits for a connection from the pool, or for a new one to open.
    pub pool: Duration,
}

impl Default for PostgresTimeouts {
    fn default() -> Self {
        Self {
            statement: Duration::from_secs(5),
            pool: Duration::from_secs(5),
        }
    }
}

impl PostgresTimeouts {
    /// Timeouts for statements and for connections.
    pub fn new(statement: Duration, pool: Duration) -> Self {
        Self { statement, pool }
    }
}

/// A store in a PostgreSQL schema (`kalix` unless told otherwise).
///
/// The schema and its tables are created at start, idempotently, under an advisory lock, so
/// several processes may start at once. Writes of one batch go through one connection and one
/// transaction, consecutive state writes pipelined; each event append runs in a savepoint, so a
/// conflicting append leaves nothing behind.
///
/// Each store records itself as the writer of every state version and event it writes, under a
/// random id taken at connect, so that a write following its own write in flight is refused when
/// another process produced the version it expects (see [`Store::commit`]).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// Notified when a process (this one too) commits to the feed or a topic.
    heard: Arc<tokio::sync::Notify>,
    /// Keeps the connection listening for commits; stopped with the last handle.
    _listener: Arc<notify::Listener>,
    sql: Arc<Sql>,
    writer: i64,
    /// The schema, for view tables (named at start, not in [`Sql`]).
    schema: Arc<str>,
}

/// The statements, with the schema filled in.
struct Sql {
    load_state: String,
    state_version: String,
    insert_state: String,
    update_state: String,
    update_own_state: String,
    last_seq: String,
    append_check: String,
    insert_event: String,
    upsert_snapshot: String,
    insert_deleted: String,
    load_snapshot: String,
    events_from: String,
    is_deleted: String,
    feed: feed::FeedSql,
    /// Notifies the schema's channel (see `notify`).
    notify: String,
}

impl Sql {
    fn new(schema: &str) -> Self {
        let s = schema;
        let feed = feed::place(s);
        Self {
            notify: notify::notify_statement(s),
            load_state: format!(
                "SELECT version, payload FROM {s}.entity_state WHERE type_id = $1 AND entity_id = $2"
            ),
            state_version: format!(
                "SELECT version FROM {s}.entity_state WHERE type_id = $1 AND entity_id = $2"
            ),
            insert_state: format!(
                "INSERT INTO {s}.entity_state (type_id, entity_id, version, payload, writer, {FEED_COLUMNS}) \
                 VALUES ($1, $2, 1, $3, $4, {feed}) ON CONFLICT DO NOTHING"
            ),
            update_state: format!(
                "UPDATE {s}.entity_state SET version = $4, payload = $5, writer = $6, ({FEED_COLUMNS}) = ({feed}) \
                 WHERE type_id = $1 AND entity_id = $2 AND version = $3"
            ),
            update_own_state: format!(
                "UPDATE {s}.entity_state SET version = $4, payload = $5, writer = $6, ({FEED_COLUMNS}) = ({feed}) \
                 WHERE type_id = $1 AND entity_id = $2 AND version = $3 AND writer = $6"
            ),
            last_seq: format!(
                "SELECT MAX(seq) FROM {s}.event_journal WHERE type_id = $1 AND entity_id = $2"
            ),
            append_check: format!(
                "SELECT last.seq, last.writer, \
                        EXISTS (SELECT 1 FROM {s}.event_deleted WHERE type_id = $1 AND entity_id = $2) \
                 FROM (SELECT 1) AS one LEFT JOIN LATERAL ( \
                     SELECT seq, writer FROM {s}.event_journal WHERE type_id = $1 AND entity_id = $2 \
                     ORDER BY seq DESC LIMIT 1) AS last ON true"
            ),
            insert_event: format!(
                "INSERT INTO {s}.event_journal (type_id, entity_id, seq, type_name, payload, writer, {FEED_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, {feed}) ON CONFLICT DO NOTHING"
            ),
            upsert_snapshot: format!(
                "INSERT INTO {s}.event_snapshot (type_id, entity_id, seq, payload) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (type_id, entity_id) DO UPDATE SET seq = excluded.seq, payload = excluded.payload"
            ),
            insert_deleted: format!(
                "INSERT INTO {s}.event_deleted (type_id, entity_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            ),
            load_snapshot: format!(
                "SELECT seq, payload FROM {s}.event_snapshot WHERE type_id = $1 AND entity_id = $2"
            ),
            events_from: format!(
                "SELECT seq, type_name, payload FROM {s}.event_journal WHERE type_id = $1 AND entity_id = $2 AND seq >= $3 ORDER BY seq"
            ),
            is_deleted: format!(
                "SELECT 1 FROM {s}.event_deleted WHERE type_id = $1 AND entity_id = $2"
            ),
            feed: feed::FeedSql::new(s),
        }
    }
}

fn schema_ddl(s: &str) -> String {
    format!(
        "CREATE SCHEMA IF NOT EXISTS {s};
         CREATE TABLE IF NOT EXISTS {s}.entity_state (
             type_id TEXT NOT NULL, entity_id TEXT NOT NULL, version BIGINT NOT NULL, payload BYTEA,
             writer BIGINT, PRIMARY KEY (type_id, entity_id));
         CREATE TABLE IF NOT EXISTS {s}.event_journal (
             type_id TEXT NOT NULL, entity_id TEXT NOT NULL, seq BIGINT NOT NULL, type_name TEXT NOT NULL,
             payload BYTEA NOT NULL, writer BIGINT, PRIMARY KEY (type_id, entity_id, seq));
         CREATE TABLE IF NOT EXISTS {s}.event_snapshot (
             type_id TEXT NOT NULL, entity_id TEXT NOT NULL, seq BIGINT NOT NULL, payload BYTEA NOT NULL,
             PRIMARY KEY (type_id, entity_id));
         CREATE TABLE IF NOT EXISTS {s}.event_deleted (
             type_id TEXT NOT NULL, entity_id TEXT NOT NULL, PRIMARY KEY (type_id, entity_id));"
    )
}

/// Adds the writer columns to tables created before they existed. Only when one is missing:
/// `ALTER TABLE` takes the table's exclusive lock even when it has nothing to do, and would
/// stall the writes of processes already serving.
async fn add_writer_columns(
    transaction: &tokio_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), StoreError> {
    for table in ["entity_state", "event_journal"] {
        if column_missing(transaction, schema, table, "writer").await? {
            transaction
                .batch_execute(&format!(
                    "ALTER TABLE {schema}.{table} ADD COLUMN IF NOT EXISTS writer BIGINT"
                ))
                .await
                .map_err(db_error)?;
        }
    }
    Ok(())
}

/// Whether `schema.table` lacks `column` (to change a table only where it must).
async fn column_missing(
    transaction: &tokio_postgres::Transaction<'_>,
    schema: &str,
    table: &str,
    column: &str,
) -> Result<bool, StoreError> {
    Ok(transaction
        .query_opt(
            "SELECT 1 FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 AND column_name = $3",
            &[&schema, &table, &column],
        )
        .await
        .map_err(db_error)?
        .is_none())
}

fn pg_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::new(format!("postgres: {error}"))
}

/// A client error with what the database said: its severity, SQLSTATE, message and detail.
/// A transaction refused for a write's content (bad data, a key over a limit, a constraint) is
/// marked as such, so the group committer can commit the other writes without it.
fn db_error(error: tokio_postgres::Error) -> StoreError {
    let error = &error;
    let Some(db) = error.as_db_error() else {
        let mut message = format!("postgres: {error}");
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        return StoreError::new(message);
    };
    let code = db.code().code();
    let mut message = format!("postgres: {} {code}: {}", db.severity(), db.message());
    if let Some(detail) = db.detail() {
        message.push_str(&format!(" ({detail})"));
    }
    // 22: data exception, 23: integrity constraint violation, 54: program limit exceeded.
    if ["22", "23", "54"]
        .iter()
        .any(|class| code.starts_with(class))
    {
        StoreError::rejected_write(message)
    } else {
        StoreError::new(message)
    }
}

fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::Backend(error) => db_error(error),
        PoolError::Timeout(_) => StoreError::new(
            "postgres: no connection became available in time (KALIX_POSTGRES_POOL_TIMEOUT_MS)",
        ),
        other => pg_error(other),
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`) and creates `schema` and its
    /// tables if missing. A schema name is letters, digits and `_`. Waits for the database as
    /// long as [`PostgresTimeouts::default`] says.
    pub async fn connect(url: &str, schema: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, schema, PostgresTimeouts::default()).await
    }

    /// As [`PostgresStore::connect`], waiting for the database as long as `timeouts` says.
    pub async fn connect_with(
        url: &str,
        schema: &str,
        timeouts: PostgresTimeouts,
    ) -> Result<Self, StoreError> {
        let valid = schema
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(StoreError::new(format!(
                "'{schema}' is not a schema name: use lowercase letters, digits and _, not starting with a digit"
            )));
        }
        let mut config: tokio_postgres::Config = url.parse().map_err(db_error)?;
        // A lock held by another session, or a statement that hangs, must not stall writes
        // without bound.
        let statement_ms = timeouts.statement.as_millis().max(1);
        // The URL's own options come last, so a timeout set there wins over ours. Notices are
        // left out: the only ones our statements raise say that a table another process made
        // already exists, which tokio-postgres would log at INFO on every start.
        let options = format!(
            "-c statement_timeout={statement_ms} -c lock_timeout={statement_ms} \
             -c client_min_messages=warning {}",
            config.get_options().unwrap_or_default()
        );
        config.options(options.trim_end());
        config.connect_timeout(timeouts.pool);
        let heard = Arc::new(tokio::sync::Notify::new());
        let listener = notify::listen(config.clone(), schema, Arc::clone(&heard));
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeouts.pool))
            .create_timeout(Some(timeouts.pool))
            .recycle_timeout(Some(timeouts.pool))
            .build()
            .map_err(pg_error)?;
        let mut client = pool.get().await.map_err(pool_error)?;
        let transaction = client.transaction().await.map_err(db_error)?;
        // Several processes may start at once; the lock makes creating the schema one at a time.
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))",
                &[&format!("kalix-schema-{schema}")],
            )
            .await
            .map_err(db_error)?;
        transaction
            .batch_execute(&schema_ddl(schema))
            .await
            .map_err(db_error)?;
        add_writer_columns(&transaction, schema).await?;
        feed::create(&transaction, schema).await?;
        timer::create(&transaction, schema).await?;
        kept::create(&transaction, schema).await?;
        transaction.commit().await.map_err(db_error)?;
        Ok(Self {
            pool,
            heard,
            _listener: Arc::new(listener),
            sql: Arc::new(Sql::new(schema)),
            // Random, so no other process (or restart) records itself as this writer.
            writer: uuid::Uuid::new_v4().as_u64_pair().0 as i64,
            schema: Arc::from(schema),
        })
    }
}

impl PostgresStore {
    /// The number a one-column query of (type id, entity id) returns: 0 for no row or NULL.
    fn number(
        &self,
        query: fn(&Sql) -> &String,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        let (store, type_id, entity_id) = (self.clone(), type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(query(&store.sql))
                .await
                .map_err(db_error)?;
            let row = client
                .query_opt(&statement, &[&type_id, &entity_id])
                .await
                .map_err(db_error)?;
            Ok(row
                .and_then(|row| row.get::<_, Option<i64>>(0))
                .map_or(0, |n| n as u64))
        })
    }
}

type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// Why a batch did not commit.
enum CommitError {
    /// The database refused it for a race with another transaction (deadlock, serialization).
    Retry,
    /// Anything else.
    Store(StoreError),
}

impl From<StoreError> for CommitError {
    fn from(error: StoreError) -> Self {
        CommitError::Store(error)
    }
}

/// The entity a write is for, to order a batch's row locks.
fn key(write: &Write) -> (&str, &str) {
    match write {
        Write::State(write) => (&write.type_id, &write.entity_id),
        Write::Events(append) => (&append.type_id, &append.entity_id),
    }
}

/// Applies `writes`, in this order, in one transaction.
async fn commit_in_order(
    store: &PostgresStore,
    writes: &[&Write],
) -> Result<Vec<Result<u64, WriteError>>, CommitError> {
    let mut client = store.pool.get().await.map_err(pool_error)?;
    let run = async {
        let mut transaction = client.transaction().await?;
        let mut results = Vec::with_capacity(writes.len());
        let mut index = 0;
        while index < writes.len() {
            // A write keeping a reply goes alone: its key first (a key kept already refuses the
            // write), and forgotten again if the write does not apply.
            if let Some(kept) = writes[index].kept_reply() {
                if !kept::keep(store, &transaction, kept).await? {
                    results.push(Err(WriteError::KeyUsed));
                    index += 1;
                    continue;
                }
                let applied = match writes[index] {
                    Write::State(write) => {
                        write_states(store, &transaction, &[write]).await?.remove(0)
                    }
                    Write::Events(append) => append_events(store, &mut transaction, append).await?,
                };
                if applied.is_err() {
                    kept::forget(store, &transaction, kept).await?;
                }
                results.push(applied);
                index += 1;
                continue;
            }
            // A run of consecutive state writes is pipelined on the connection, in order.
            let run: Vec<&StateWrite> = writes[index..]
                .iter()
                .map_while(|write| match write {
                    Write::State(write) if write.kept_reply.is_none() => Some(write),
                    _ => None,
                })
                .collect();
            if run.is_empty() {
                let Write::Events(append) = writes[index] else {
                    unreachable!("not a state write")
                };
                results.push(append_events(store, &mut transaction, append).await?);
                index += 1;
            } else {
                index += run.len();
                results.extend(write_states(store, &transaction, &run).await?);
            }
        }
        // Wakes other processes' consumers as the transaction commits.
        transaction.batch_execute(&store.sql.notify).await?;
        transaction.commit().await?;
        Ok::<_, tokio_postgres::Error>(results)
    };
    run.await.map_err(|error| {
        let race = error.code().is_some_and(|code| {
            *code == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                || *code == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
        });
        if race {
            CommitError::Retry
        } else {
            CommitError::Store(db_error(error))
        }
    })
}

impl Store for PostgresStore {
    fn load(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>> {
        let (store, type_id, entity_id) = (self.clone(), type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(&store.sql.load_state)
                .await
                .map_err(db_error)?;
            let row = client
                .query_opt(&statement, &[&type_id, &entity_id])
                .await
                .map_err(db_error)?;
            Ok(row.map(|row| StoredState {
                version: row.get::<_, i64>(0) as u64,
                payload: row.get::<_, Option<Vec<u8>>>(1).map(Bytes::from),
            }))
        })
    }

    fn commit(
        &self,
        writes: Vec<Write>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>> {
        let store = self.clone();
        Box::pin(async move {
            // Rows are locked in (type, id) order, the same in every process, so two batches
            // cannot wait on each other in a cycle. The sort is stable: one entity's writes keep
            // their order.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by(|&a, &b| key(&writes[a]).cmp(&key(&writes[b])));
            let sorted: Vec<&Write> = order.iter().map(|&i| &writes[i]).collect();
            let outcome = match commit_in_order(&store, &sorted).await {
                Ok(outcome) => outcome,
                // A lock cycle or serialization failure with another process is a lost race:
                // every writer runs its command again.
                Err(CommitError::Retry) => sorted
                    .iter()
                    .map(|_| {
                        Err(WriteError::Conflict {
                            expected: 0,
                            found: None,
                        })
                    })
                    .collect(),
                Err(CommitError::Store(error)) => return Err(error),
            };
            let mut results: Vec<Option<Result<u64, WriteError>>> = vec![None; writes.len()];
            for (position, result) in order.into_iter().zip(outcome) {
                results[position] = Some(result);
            }
            Ok(results
                .into_iter()
                .map(|result| result.expect("one result per write"))
                .collect())
        })
    }

    fn load_events(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<EventLog, StoreError>> {
        let (store, type_id, entity_id) = (self.clone(), type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(&store.sql.load_snapshot)
                .await
                .map_err(db_error)?;
            let snapshot = client
                .query_opt(&statement, &[&type_id, &entity_id])
                .await
                .map_err(db_error)?
                .map(|row| Snapshot {
                    seq: row.get::<_, i64>(0) as u64,
                    payload: Bytes::from(row.get::<_, Vec<u8>>(1)),
                });
            let from = snapshot.as_ref().map_or(1, |s| s.seq + 1);
            let events = events_from(&store, &client, &type_id, &entity_id, from).await?;
            let statement = client
                .prepare_cached(&store.sql.is_deleted)
                .await
                .map_err(db_error)?;
            let deleted = client
                .query_opt(&statement, &[&type_id, &entity_id])
                .await
                .map_err(db_error)?
                .is_some();
            Ok(EventLog {
                snapshot,
                events,
                deleted,
            })
        })
    }

    fn read_events(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>> {
        let (store, type_id, entity_id) = (self.clone(), type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            events_from(&store, &client, &type_id, &entity_id, from_seq).await
        })
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn kept_reply(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<Option<Bytes>, StoreError>> {
        let store = self.clone();
        let (type_id, entity_id, key) = (type_id.to_owned(), entity_id.to_owned(), key.to_owned());
        Box::pin(async move { kept::reply(&store, &type_id, &entity_id, &key).await })
    }

    fn purge_kept_replies(
        &self,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        let store = self.clone();
        Box::pin(async move { kept::purge(&store, before_ms, limit).await })
    }

    fn store_id(&self) -> BoxFuture<'static, Result<String, StoreError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let s = &store.schema;
            // Made once: every process that starts later reads the one the first made.
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {s}.kalix_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
                ))
                .await
                .map_err(db_error)?;
            client
                .execute(
                    &format!(
                        "INSERT INTO {s}.kalix_meta (name, value) VALUES ('store_id', $1) ON CONFLICT DO NOTHING"
                    ),
                    &[&uuid::Uuid::new_v4().to_string()],
                )
                .await
                .map_err(db_error)?;
            let row = client
                .query_one(
                    &format!("SELECT value FROM {s}.kalix_meta WHERE name = 'store_id'"),
                    &[],
                )
                .await
                .map_err(db_error)?;
            Ok(row.get(0))
        })
    }

    fn commit_news(&self) -> Option<Arc<tokio::sync::Notify>> {
        Some(Arc::clone(&self.heard))
    }

    fn state_version(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.number(|sql| &sql.state_version, type_id, entity_id)
    }

    fn last_seq(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.number(|sql| &sql.last_seq, type_id, entity_id)
    }

    fn read_feed(
        &self,
        kind: FeedKind,
        type_id: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<FeedEntry>, StoreError>> {
        let (store, type_id) = (self.clone(), type_id.to_owned());
        Box::pin(async move { feed::read(&store, kind, &type_id, after, limit).await })
    }

    fn consumer_progress(
        &self,
        consumer: &str,
        entity_ids: Vec<String>,
    ) -> BoxFuture<'static, Result<ConsumerProgress, StoreError>> {
        let (store, consumer) = (self.clone(), consumer.to_owned());
        Box::pin(async move { feed::progress(&store, &consumer, &entity_ids).await })
    }

    fn save_consumer_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, consumer) = (self.clone(), consumer.to_owned());
        Box::pin(async move { feed::save(&store, &consumer, &progress).await })
    }

    fn publish(
        &self,
        topic: &str,
        messages: Vec<TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, topic) = (self.clone(), topic.to_owned());
        Box::pin(async move { feed::publish(&store, &topic, &messages).await })
    }

    fn read_topic(
        &self,
        topic: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredMessage>, StoreError>> {
        let (store, topic) = (self.clone(), topic.to_owned());
        Box::pin(async move { feed::read_topic(&store, &topic, after, limit).await })
    }

    fn prune_topic(
        &self,
        topic: &str,
        up_to: FeedOffset,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        let (store, topic) = (self.clone(), topic.to_owned());
        Box::pin(async move { feed::prune_topic(&store, &topic, up_to, before_ms, limit).await })
    }

    fn lease(
        &self,
        name: &str,
        owner: u64,
        ttl: Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        let (store, name) = (self.clone(), name.to_owned());
        Box::pin(async move { lease::lease(&store, &name, owner, ttl).await })
    }

    fn release_lease(&self, name: &str, owner: u64) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, name) = (self.clone(), name.to_owned());
        Box::pin(async move { lease::release(&store, &name, owner).await })
    }

    fn count_leases(&self, prefix: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        let (store, prefix) = (self.clone(), prefix.to_owned());
        Box::pin(async move { lease::count(&store, &prefix).await })
    }

    fn prepare_view_table(
        &self,
        table: ViewTableSpec,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        let store = self.clone();
        Box::pin(async move { view::prepare(&store, &table).await })
    }

    fn view_rows(
        &self,
        table: &str,
        keys: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<(String, Bytes)>, StoreError>> {
        let (store, table) = (self.clone(), table.to_owned());
        Box::pin(async move { view::rows(&store, &table, &keys).await })
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
        Box::pin(
            async move { view::commit(&store, &table, &writes, &consumer, &progress, owner).await },
        )
    }

    fn query_view(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<ViewRows, StoreError>> {
        let store = self.clone();
        Box::pin(async move { view::query(&store, query, &params).await })
    }

    fn explain_view_query(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<String, StoreError>> {
        let store = self.clone();
        Box::pin(async move { view::explain(&store, query, &params).await })
    }

    fn start_timer(
        &self,
        timer: TimerRecord,
        max_pending: u64,
    ) -> BoxFuture<'static, Result<TimerStart, StoreError>> {
        let store = self.clone();
        Box::pin(async move { timer::start(&store, &timer, max_pending).await })
    }

    fn cancel_timer(&self, name: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, name) = (self.clone(), name.to_owned());
        Box::pin(async move { timer::cancel(&store, &name).await })
    }

    fn claim_due_timers(
        &self,
        now_ms: u64,
        claim_ms: u64,
        owner: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        let store = self.clone();
        Box::pin(async move { timer::claim(&store, now_ms, claim_ms, owner, limit).await })
    }

    fn settle_timers(
        &self,
        outcomes: Vec<TimerOutcome>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let store = self.clone();
        Box::pin(async move { timer::settle(&store, &outcomes).await })
    }

    fn next_timer_due(&self, now_ms: u64) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        let store = self.clone();
        Box::pin(async move { timer::next_due(&store, now_ms).await })
    }

    fn list_timers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        let store = self.clone();
        Box::pin(async move { timer::list(&store, limit).await })
    }

    fn hasten_timers(
        &self,
        prefix: &str,
        due_ms: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, prefix) = (self.clone(), prefix.to_owned());
        Box::pin(async move { timer::hasten(&store, &prefix, due_ms).await })
    }
}

async fn events_from(
    store: &PostgresStore,
    client: &deadpool_postgres::Client,
    type_id: &str,
    entity_id: &str,
    from: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let statement = client
        .prepare_cached(&store.sql.events_from)
        .await
        .map_err(db_error)?;
    let rows = client
        .query(&statement, &[&type_id, &entity_id, &(from as i64)])
        .await
        .map_err(db_error)?;
    Ok(rows
        .iter()
        .map(|row| StoredEvent {
            seq: row.get::<_, i64>(0) as u64,
            type_name: row.get(1),
            payload: Bytes::from(row.get::<_, Vec<u8>>(2)),
        })
        .collect())
}

/// Applies consecutive state writes, pipelined; then asks for the versions of the refused ones.
async fn write_states(
    store: &PostgresStore,
    transaction: &Tx<'_>,
    writes: &[&StateWrite],
) -> Result<Vec<Result<u64, WriteError>>, tokio_postgres::Error> {
    let sql = &store.sql;
    let insert = transaction.prepare_cached(&sql.insert_state).await?;
    let update = transaction.prepare_cached(&sql.update_state).await?;
    let update_own = transaction.prepare_cached(&sql.update_own_state).await?;
    let writer = &store.writer;
    let applied = try_join_all(writes.iter().map(|write| {
        let payload = write.payload.as_deref();
        let (insert, update, update_own) = (&insert, &update, &update_own);
        async move {
            if write.expected_version == 0 {
                transaction
                    .execute(
                        insert,
                        &[&write.type_id, &write.entity_id, &payload, writer],
                    )
                    .await
            } else {
                let expected = write.expected_version as i64;
                let statement = if write.follows_own_write {
                    update_own
                } else {
                    update
                };
                transaction
                    .execute(
                        statement,
                        &[
                            &write.type_id,
                            &write.entity_id,
                            &expected,
                            &(expected + 1),
                            &payload,
                            writer,
                        ],
                    )
                    .await
            }
        }
    }))
    .await?;
    let version = transaction.prepare_cached(&sql.state_version).await?;
    let mut results = Vec::with_capacity(writes.len());
    for (write, applied) in writes.iter().zip(applied) {
        if applied == 1 {
            for timer in &write.timers {
                timer::upsert(store, transaction, timer).await?;
            }
            results.push(Ok(write.expected_version + 1));
        } else {
            let found = transaction
                .query_opt(&version, &[&write.type_id, &write.entity_id])
                .await?
                .map(|row| row.get::<_, i64>(0) as u64);
            results.push(Err(WriteError::Conflict {
                expected: write.expected_version,
                found,
            }));
        }
    }
    Ok(results)
}

/// Appends events in a savepoint, if the journal ends at the expected sequence number; a
/// concurrent append of the same numbers (another process) makes the insert do nothing, which
/// is a conflict, and the savepoint is rolled back.
async fn append_events(
    store: &PostgresStore,
    transaction: &mut Tx<'_>,
    append: &EventAppend,
) -> Result<Result<u64, WriteError>, tokio_postgres::Error> {
    let sql = &store.sql;
    let savepoint = transaction.transaction().await?;
    // One round trip for both: where the journal ends, and whether the entity was deleted.
    let check = savepoint.prepare_cached(&sql.append_check).await?;
    let row = savepoint
        .query_one(&check, &[&append.type_id, &append.entity_id])
        .await?;
    let (last, last_writer, deleted): (Option<i64>, Option<i64>, bool) =
        (row.get(0), row.get(1), row.get(2));
    if deleted {
        savepoint.rollback().await?;
        return Ok(Err(WriteError::Deleted));
    }
    let last = last.map_or(0, |seq| seq as u64);
    let conflict = |found: u64| {
        Ok(Err(WriteError::Conflict {
            expected: append.expected_seq,
            found: (found > 0).then_some(found),
        }))
    };
    // Following its own append, the writer must find that append, not another's in its place.
    let taken_over = append.follows_own_write && last_writer != Some(store.writer);
    if last != append.expected_seq || taken_over {
        savepoint.rollback().await?;
        return conflict(last);
    }
    let insert = savepoint.prepare_cached(&sql.insert_event).await?;
    let mut seq = last;
    for event in &append.events {
        seq += 1;
        let inserted = savepoint
            .execute(
                &insert,
                &[
                    &append.type_id,
                    &append.entity_id,
                    &(seq as i64),
                    &event.type_name,
                    &&event.payload[..],
                    &store.writer,
                ],
            )
            .await?;
        if inserted == 0 {
            savepoint.rollback().await?;
            return conflict(seq);
        }
    }
    if let Some(snapshot) = &append.snapshot {
        let upsert = savepoint.prepare_cached(&sql.upsert_snapshot).await?;
        savepoint
            .execute(
                &upsert,
                &[
                    &append.type_id,
                    &append.entity_id,
                    &(seq as i64),
                    &&snapshot[..],
                ],
            )
            .await?;
    }
    if append.delete {
        let insert = savepoint.prepare_cached(&sql.insert_deleted).await?;
        savepoint
            .execute(&insert, &[&append.type_id, &append.entity_id])
            .await?;
    }
    savepoint.commit().await?;
    Ok(Ok(seq))
}
