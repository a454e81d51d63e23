//! Timers in PostgreSQL: one row per name. Processes claim due timers with `FOR UPDATE SKIP
//! LOCKED`, so each is claimed by one process; a claim runs out after its time, so the timers
//! of a process that died while firing go to another.

use crate::store::TimerStore;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio_postgres::Row;

use super::{PostgresStore, db_error, pool_error};
use crate::store::{StoreError, TimerOutcome, TimerRecord, TimerStart};

/// Creates the timer table and its index if the table is missing (creating an index that
/// exists would still lock the table).
pub(super) async fn create(
    transaction: &deadpool_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), StoreError> {
    let missing = transaction
        .query_one(
            &format!("SELECT to_regclass('{schema}.timer') IS NULL"),
            &[],
        )
        .await
        .map_err(db_error)?
        .get::<_, bool>(0);
    if missing {
        transaction
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {schema}.timer (
                     name TEXT PRIMARY KEY, generation TEXT NOT NULL, due_ms BIGINT NOT NULL,
                     call BYTEA NOT NULL, attempts INTEGER NOT NULL, max_retries INTEGER,
                     claimed_until_ms BIGINT, owner BIGINT);
                 CREATE INDEX IF NOT EXISTS timer_due ON {schema}.timer (due_ms);"
            ))
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// How many rows the count of pending timers is spread over: a statement that adds or removes
/// timers updates the one row of its database session (`pg_backend_pid()`), so a transaction
/// locks one row of the count however many timers it touches (no two transactions wait for
/// each other's rows in opposite orders), and sessions seldom share one. A start reads them all.
const PENDING_SHARDS: i32 = 64;

/// Keeps the number of the components' timers (names not starting with `kalix.`) in
/// `timer_pending`, updated once per statement by triggers as timers come and go, so a start
/// checks the limit in O(1) instead of counting the table.
pub(super) async fn count_pending(
    transaction: &deadpool_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), StoreError> {
    let shards = PENDING_SHARDS;
    let last = shards - 1;
    let trigger = |name: &str, operation: &str, table: &str, sign: &str| {
        format!(
            "CREATE OR REPLACE FUNCTION {schema}.{name}() RETURNS trigger LANGUAGE plpgsql AS $$
             DECLARE counted BIGINT;
             BEGIN
                 SELECT COUNT(*) INTO counted FROM {table} WHERE left(name, 6) <> 'kalix.';
                 IF counted <> 0 THEN
                     UPDATE {schema}.timer_pending SET pending = pending {sign} counted
                     WHERE shard = pg_backend_pid() % {shards};
                 END IF;
                 RETURN NULL;
             END $$;
             CREATE OR REPLACE TRIGGER {name} AFTER {operation} ON {schema}.timer
                 REFERENCING {table_kind} TABLE AS {table}
                 FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{name}();",
            table_kind = if operation == "INSERT" { "NEW" } else { "OLD" },
        )
    };
    transaction
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {schema}.timer_pending (
                 shard INTEGER PRIMARY KEY, pending BIGINT NOT NULL);
             INSERT INTO {schema}.timer_pending (shard, pending)
                 SELECT s, 0 FROM generate_series(0, {last}) s ON CONFLICT DO NOTHING;
             UPDATE {schema}.timer_pending SET pending = (
                 SELECT COUNT(*) FROM {schema}.timer WHERE left(name, 6) <> 'kalix.')
             WHERE shard = 0;
             {added}
             {removed}",
            added = trigger("timer_pending_added", "INSERT", "added", "+"),
            removed = trigger("timer_pending_removed", "DELETE", "removed", "-"),
        ))
        .await
        .map_err(db_error)
}

const COLUMNS: &str = "name, generation, due_ms, call, attempts, max_retries";

fn record(row: &Row) -> TimerRecord {
    TimerRecord {
        name: row.get(0),
        generation: row.get(1),
        due_ms: row.get::<_, i64>(2) as u64,
        call: Bytes::from(row.get::<_, Vec<u8>>(3)),
        attempts: row.get::<_, i32>(4) as u32,
        max_retries: row.get::<_, Option<i32>>(5).map(|n| n as u32),
    }
}

impl PostgresStore {
    fn timers(&self) -> String {
        format!("{}.timer", self.schema)
    }
}

/// Stores `timer` unless the limit refuses it: written if its name is stored already (a
/// replacement), if it is the runtime's own (`max_pending` is `u64::MAX`), or if fewer than
/// `max_pending` of the components' timers are pending. Processes starting timers at once may
/// pass the limit by a few: it bounds the table, it is not a quota to the unit.
pub(super) async fn start(
    store: &PostgresStore,
    timer: &TimerRecord,
    max_pending: u64,
) -> Result<TimerStart, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let limit = if max_pending == u64::MAX {
        None
    } else {
        Some(max_pending.min(i64::MAX as u64) as i64)
    };
    let written = write(&client, store, timer, limit)
        .await
        .map_err(db_error)?;
    Ok(if written {
        TimerStart::Started
    } else {
        TimerStart::TooMany
    })
}

/// Stores `timer` with `client` (a pooled connection or a transaction) in one statement,
/// replacing a timer of its name (and its claim); with a `limit`, a new name is written only
/// while fewer than `limit` of the components' timers are pending. Whether it was written.
async fn write(
    client: &impl deadpool_postgres::GenericClient,
    store: &PostgresStore,
    timer: &TimerRecord,
    limit: Option<i64>,
) -> Result<bool, tokio_postgres::Error> {
    let table = store.timers();
    let schema = &store.schema;
    let statement = client
        .prepare_cached(&format!(
            "INSERT INTO {table} (name, generation, due_ms, call, attempts, max_retries) \
             SELECT $1::text, $2::text, $3::bigint, $4::bytea, $5::integer, $6::integer \
             WHERE $7::bigint IS NULL OR EXISTS (SELECT 1 FROM {table} WHERE name = $1::text) \
                 OR (SELECT COALESCE(SUM(pending), 0)::bigint FROM {schema}.timer_pending) \
                     < $7::bigint \
             ON CONFLICT (name) DO UPDATE SET generation = excluded.generation, \
                 due_ms = excluded.due_ms, call = excluded.call, attempts = excluded.attempts, \
                 max_retries = excluded.max_retries, claimed_until_ms = NULL, owner = NULL"
        ))
        .await?;
    let written = client
        .execute(
            &statement,
            &[
                &timer.name,
                &timer.generation,
                &(timer.due_ms as i64),
                &timer.call.as_ref(),
                &(timer.attempts as i32),
                &timer.max_retries.map(|n| n as i32),
                &limit,
            ],
        )
        .await?;
    Ok(written > 0)
}

pub(super) async fn hasten(
    store: &PostgresStore,
    prefix: &str,
    due_ms: u64,
) -> Result<(), StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    client
        .execute(
            &format!(
                "UPDATE {} SET due_ms = $2 WHERE left(name, length($1)) = $1 AND due_ms > $2",
                store.timers()
            ),
            &[&prefix, &(due_ms as i64)],
        )
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn cancel(store: &PostgresStore, name: &str) -> Result<(), StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    client
        .execute(
            &format!("DELETE FROM {} WHERE name = $1", store.timers()),
            &[&name],
        )
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn claim(
    store: &PostgresStore,
    now_ms: u64,
    claim_ms: u64,
    owner: u64,
    limit: usize,
) -> Result<Vec<TimerRecord>, StoreError> {
    let table = store.timers();
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(&format!(
            "UPDATE {table} SET claimed_until_ms = $1 + $2, owner = $3 WHERE name IN ( \
                 SELECT name FROM {table} WHERE due_ms <= $1 \
                 AND (claimed_until_ms IS NULL OR claimed_until_ms < $1) \
                 ORDER BY due_ms LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING {COLUMNS}"
        ))
        .await
        .map_err(db_error)?;
    let rows = client
        .query(
            &statement,
            &[
                &(now_ms as i64),
                &(claim_ms as i64),
                &(owner as i64),
                &(limit as i64),
            ],
        )
        .await
        .map_err(db_error)?;
    let mut claimed: Vec<TimerRecord> = rows.iter().map(record).collect();
    claimed.sort_by_key(|timer| timer.due_ms);
    Ok(claimed)
}

/// Records a pass's outcomes in one transaction of two statements: the fired timers removed,
/// the failed ones due again (each only if it is still the generation claimed), whatever the
/// number of timers, so the count of pending timers is updated once.
pub(super) async fn settle(
    store: &PostgresStore,
    outcomes: &[TimerOutcome],
) -> Result<(), StoreError> {
    let table = store.timers();
    let (mut removed_names, mut removed_generations) = (Vec::new(), Vec::new());
    let (mut names, mut generations, mut due, mut attempts, mut owners) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for outcome in outcomes {
        match outcome.retry {
            None => {
                removed_names.push(outcome.name.as_str());
                removed_generations.push(outcome.generation.as_str());
            }
            Some((due_ms, attempt)) => {
                names.push(outcome.name.as_str());
                generations.push(outcome.generation.as_str());
                due.push(due_ms as i64);
                attempts.push(attempt as i32);
                owners.push(outcome.owner as i64);
            }
        }
    }
    let mut client = store.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    if !removed_names.is_empty() {
        let remove = transaction
            .prepare_cached(&format!(
                "DELETE FROM {table} t USING unnest($1::text[], $2::text[]) AS f(name, generation) \
                 WHERE t.name = f.name AND t.generation = f.generation"
            ))
            .await
            .map_err(db_error)?;
        transaction
            .execute(&remove, &[&removed_names, &removed_generations])
            .await
            .map_err(db_error)?;
    }
    if !names.is_empty() {
        let retry = transaction
            .prepare_cached(&format!(
                "UPDATE {table} t SET due_ms = f.due_ms, attempts = f.attempts, \
                     claimed_until_ms = NULL, owner = NULL \
                 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[], $5::bigint[]) \
                     AS f(name, generation, due_ms, attempts, owner) \
                 WHERE t.name = f.name AND t.generation = f.generation AND t.owner = f.owner"
            ))
            .await
            .map_err(db_error)?;
        transaction
            .execute(&retry, &[&names, &generations, &due, &attempts, &owners])
            .await
            .map_err(db_error)?;
    }
    transaction.commit().await.map_err(db_error)
}

pub(super) async fn next_due(
    store: &PostgresStore,
    now_ms: u64,
) -> Result<Option<u64>, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let due: Option<i64> = client
        .query_one(
            &format!(
                "SELECT MIN(due_ms) FROM {} WHERE claimed_until_ms IS NULL OR claimed_until_ms < $1",
                store.timers()
            ),
            &[&(now_ms as i64)],
        )
        .await
        .map_err(db_error)?
        .get(0);
    Ok(due.map(|d| d as u64))
}

pub(super) async fn list(
    store: &PostgresStore,
    limit: usize,
) -> Result<Vec<TimerRecord>, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM {} ORDER BY due_ms, name LIMIT $1",
                store.timers()
            ),
            &[&(limit as i64)],
        )
        .await
        .map_err(db_error)?;
    Ok(rows.iter().map(record).collect())
}

/// Up to `limit` timers `filter` selects, earliest due first (the admin API's list). The table
/// is bounded by the pending-timer limit, so a rare filter scans at most that many.
pub(super) async fn find(
    store: &PostgresStore,
    filter: &crate::store::inspect::TimerFilter,
    limit: usize,
) -> Result<Vec<TimerRecord>, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let due_before = filter
        .due_before_ms
        .map(|due| due.min(i64::MAX as u64) as i64);
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM {} \
                 WHERE ($1::TEXT IS NULL OR starts_with(name, $1::TEXT)) \
                   AND ($2::BIGINT IS NULL OR due_ms < $2::BIGINT) AND (NOT $3::BOOL OR attempts > 0) \
                 ORDER BY due_ms, name LIMIT $4",
                store.timers()
            ),
            &[&filter.name_prefix, &due_before, &filter.failing, &(limit as i64)],
        )
        .await
        .map_err(db_error)?;
    Ok(rows.iter().map(record).collect())
}

/// Stores `timer` in `transaction`, replacing a timer of its name (and its claim).
pub(super) async fn upsert(
    store: &PostgresStore,
    transaction: &deadpool_postgres::Transaction<'_>,
    timer: &TimerRecord,
) -> Result<(), tokio_postgres::Error> {
    write(transaction, store, timer, None).await.map(|_| ())
}

impl TimerStore for PostgresStore {
    fn start_timer(
        &self,
        timer: TimerRecord,
        max_pending: u64,
    ) -> BoxFuture<'static, Result<TimerStart, StoreError>> {
        let store = self.clone();
        Box::pin(async move { start(&store, &timer, max_pending).await })
    }

    fn cancel_timer(&self, name: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, name) = (self.clone(), name.to_owned());
        Box::pin(async move { cancel(&store, &name).await })
    }

    fn claim_due_timers(
        &self,
        now_ms: u64,
        claim_ms: u64,
        owner: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        let store = self.clone();
        Box::pin(async move { claim(&store, now_ms, claim_ms, owner, limit).await })
    }

    fn settle_timers(
        &self,
        outcomes: Vec<TimerOutcome>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let store = self.clone();
        Box::pin(async move { settle(&store, &outcomes).await })
    }

    fn next_timer_due(&self, now_ms: u64) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        let store = self.clone();
        Box::pin(async move { next_due(&store, now_ms).await })
    }

    fn pending_timers(&self) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let pending: i64 = client
                .query_one(
                    &format!(
                        "SELECT COALESCE(SUM(pending), 0)::bigint FROM {}.timer_pending",
                        store.schema
                    ),
                    &[],
                )
                .await
                .map_err(db_error)?
                .get(0);
            Ok(Some(pending.max(0) as u64))
        })
    }

    fn list_timers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        let store = self.clone();
        Box::pin(async move { list(&store, limit).await })
    }

    fn hasten_timers(
        &self,
        prefix: &str,
        due_ms: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, prefix) = (self.clone(), prefix.to_owned());
        Box::pin(async move { hasten(&store, &prefix, due_ms).await })
    }
}
