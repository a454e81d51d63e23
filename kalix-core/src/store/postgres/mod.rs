//! The PostgreSQL backend: the same tables as SQLite, in one schema, shared safely by several
//! runtime processes through optimistic concurrency.
//!
//! ## Several processes on PostgreSQL (how it works, and why)
//!
//! `PostgresStore` (`kalix-core/src/store/postgres/mod.rs`) implements the same trait as SQLite and passes
//! the same conformance suite. Its schema is created at start under an advisory lock (several processes
//! may start at once); a column added since (the writer id) is added only where it is missing, since
//! `ALTER TABLE` takes the table's exclusive lock and would stall processes already writing. Every connection sets `statement_timeout` and `lock_timeout`
//! (`KALIX_POSTGRES_STATEMENT_TIMEOUT_MS`), and the pool bounds the wait for a connection and for a
//! new one to open (`KALIX_POSTGRES_POOL_TIMEOUT_MS`), so a lock held elsewhere or a database that
//! hangs gives a 503 and a log line with the database's own error (severity, SQLSTATE, message). A batch from the group committer is one transaction on one pooled connection;
//! consecutive state writes are pipelined; each event append runs in a savepoint, so an append that
//! loses a race to another process leaves nothing behind.
//!
//! **Consistency model.** Per entity, across every process sharing the database:
//! - *Writes* are optimistic. Every state write names the version it expects and every append the last
//!   sequence number it saw; the database refuses one that does not hold (a conditional update, or an
//!   insert on the journal's primary key that finds the row taken). A command whose write is refused
//!   marks its entity stale; the dispatcher runs the command again on the reloaded entity, up to 3
//!   times, then answers the host's 503 (`<type> '<id>' was changed concurrently; retry the command`). No
//!   write is ever applied on top of state it did not see, so no acknowledged update is lost.
//! - *Reads* see every write acknowledged before them, on any process: on a shared store, a command
//!   that changes nothing reads the entity's version (or last sequence number) with one primary-key
//!   lookup before replying; if another process moved the entity, it is reloaded and the command runs
//!   again (handlers are pure, so running one again is safe). Writes need no such lookup: their version
//!   check at commit refuses a stale write, and the command runs again.
//! - An entity's commands pipeline on a shared store as on SQLite: a command runs on top of its
//!   entity's own write still in flight, and its write is marked `follows_own_write`. Each
//!   `PostgresStore` records a random writer id with every state version and event it writes, and a
//!   marked write must find its own writer id on the version it expects. Otherwise, after the first
//!   write lost a race, the one stacked on it could match the winning process's version and overwrite
//!   it; instead it is refused as a conflict and its command runs again. Reads wait for the entity's
//!   own write before their version lookup.
//! - A command that is run again joins the back of its entity's queue: after a conflict, arrival
//!   order holds only among commands that did not conflict.
//! - Deletes hold across processes: the store refuses an append to a deleted journal (409).
//! - PostgreSQL batches lock rows in (type id, entity id) order in every process; a deadlock or
//!   serialization failure the database still reports makes every command of the batch run again.
//!
//! This costs one indexed read per read command on PostgreSQL; no ownership, leases or notifications
//! are needed, and any load balancer works.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use futures_util::future::BoxFuture;
use tokio_postgres::NoTls;

mod entity;
mod feed;
mod inspect;
mod kept;
mod lease;
mod notify;
mod replica;
mod timer;
mod view;

use super::schema::Migration;
use super::{Store, StoreError};
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
/// another process produced the version it expects (see [`EntityStore::commit`](crate::store::EntityStore::commit)).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// Notified when a process (this one too) commits to the feed or a topic.
    heard: Arc<tokio::sync::Notify>,
    /// Keeps the connection listening for commits; stopped with the last handle.
    _listener: Arc<notify::Listener>,
    /// What the listener hears of replica writes (see `replica`).
    replica_news: tokio::sync::broadcast::Sender<crate::store::ReplicaNews>,
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
    replica: replica::ReplicaSql,
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
                "INSERT INTO {s}.entity_state (type_id, entity_id, version, payload, writer, trace_parent, {FEED_COLUMNS}) \
                 VALUES ($1, $2, 1, $3, $4, $5, {feed}) ON CONFLICT DO NOTHING"
            ),
            update_state: format!(
                "UPDATE {s}.entity_state SET version = $4, payload = $5, writer = $6, trace_parent = $7, ({FEED_COLUMNS}) = ({feed}) \
                 WHERE type_id = $1 AND entity_id = $2 AND version = $3"
            ),
            update_own_state: format!(
                "UPDATE {s}.entity_state SET version = $4, payload = $5, writer = $6, trace_parent = $7, ({FEED_COLUMNS}) = ({feed}) \
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
                "INSERT INTO {s}.event_journal (type_id, entity_id, seq, type_name, payload, writer, trace_parent, {FEED_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, {feed}) ON CONFLICT DO NOTHING"
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
            replica: replica::ReplicaSql::new(s),
        }
    }
}

/// One step of the schema: what it runs in the start's transaction, for the schema named.
type Step = for<'a, 't> fn(
    &'a deadpool_postgres::Transaction<'t>,
    &'a str,
) -> BoxFuture<'a, Result<(), StoreError>>;

/// The schema, one step per version, recorded in `<schema>.schema_version`. The first steps
/// bring a schema made before versions were kept, in any of its earlier layouts, to the layout
/// of version 4; a later change is one more step, which runs once. A start at the latest
/// version changes no table, so it takes no lock a serving process's writes would wait for.
const MIGRATIONS: &[Migration<Step>] = &[
    Migration {
        version: 1,
        what: "entity state rows and journals, with their writers",
        apply: |transaction, schema| {
            Box::pin(async move {
                transaction
                    .batch_execute(&schema_ddl(schema))
                    .await
                    .map_err(db_error)?;
                add_writer_columns(transaction, schema).await
            })
        },
    },
    Migration {
        version: 2,
        what: "the change feed, consumers' progress, topics and leases",
        apply: |transaction, schema| Box::pin(feed::create(transaction, schema)),
    },
    Migration {
        version: 3,
        what: "timers",
        apply: |transaction, schema| Box::pin(timer::create(transaction, schema)),
    },
    Migration {
        version: 4,
        what: "replies kept under idempotency keys",
        apply: |transaction, schema| Box::pin(kept::create(transaction, schema)),
    },
    Migration {
        version: 5,
        what: "the count of pending timers, kept by a trigger in 16 shards",
        apply: |transaction, schema| Box::pin(timer::count_pending(transaction, schema)),
    },
    Migration {
        version: 6,
        what: "the trace context of each change and event, for its subscribers",
        apply: |transaction, schema| {
            Box::pin(async move {
                transaction
                    .batch_execute(&format!(
                        "ALTER TABLE {schema}.entity_state ADD COLUMN IF NOT EXISTS trace_parent TEXT;
                         ALTER TABLE {schema}.event_journal ADD COLUMN IF NOT EXISTS trace_parent TEXT;"
                    ))
                    .await
                    .map_err(db_error)
            })
        },
    },
    Migration {
        version: 7,
        what: "the request digest, status and content type of a kept reply",
        apply: |transaction, schema| Box::pin(kept::add_reply_columns(transaction, schema)),
    },
    Migration {
        version: 8,
        what: "replicated entities' rows, one per replica",
        apply: |transaction, schema| Box::pin(replica::create_table(transaction, schema)),
    },
];

/// Brings `schema` to the latest version in `transaction` (which holds the schema's lock), or
/// refuses a schema a newer runtime wrote.
async fn migrate(
    transaction: &deadpool_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), StoreError> {
    transaction
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.schema_version (version INTEGER NOT NULL);"
        ))
        .await
        .map_err(db_error)?;
    let found: Option<i32> = transaction
        .query_one(
            &format!("SELECT max(version) FROM {schema}.schema_version"),
            &[],
        )
        .await
        .map_err(db_error)?
        .get(0);
    let pending = super::schema::pending(MIGRATIONS, found.unwrap_or(0).max(0) as u32)?;
    let Some(last) = pending.last() else {
        return Ok(());
    };
    for migration in pending {
        (migration.apply)(transaction, schema)
            .await
            .map_err(|error| {
                StoreError::new(format!(
                    "bringing the store to schema version {} ({}): {error}",
                    migration.version, migration.what
                ))
            })?;
    }
    transaction
        .batch_execute(&format!(
            "DELETE FROM {schema}.schema_version;
             INSERT INTO {schema}.schema_version VALUES ({});",
            last.version
        ))
        .await
        .map_err(db_error)
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
        // Bounded: a reader that falls behind is told it missed news and merges everything.
        let (replica_news, _) = tokio::sync::broadcast::channel(4096);
        let listener = notify::listen(
            config.clone(),
            schema,
            Arc::clone(&heard),
            replica_news.clone(),
        );
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
        migrate(&transaction, schema).await?;
        transaction.commit().await.map_err(db_error)?;
        Ok(Self {
            pool,
            heard,
            _listener: Arc::new(listener),
            replica_news,
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

impl Store for PostgresStore {
    fn is_shared(&self) -> bool {
        true
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
}
