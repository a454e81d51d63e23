//! Timers in SQLite: one row per name, due time indexed. One process uses a file, and its one
//! driver settles each pass before it claims again, so every due timer is handed out: a claim
//! left by a process that was killed does not hold its timers back after the restart.

use super::SqliteStore;
use crate::store::TimerStore;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::sqlite_error;
use crate::store::{StoreError, TimerOutcome, TimerRecord, TimerStart};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS timer (
    name             TEXT    PRIMARY KEY,
    generation       TEXT    NOT NULL,
    due_ms           INTEGER NOT NULL,
    call             BLOB    NOT NULL,
    attempts         INTEGER NOT NULL,
    max_retries      INTEGER,
    claimed_until_ms INTEGER,
    owner            INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timer_due ON timer (due_ms);
";

/// The number of the components' timers (names not starting with `kalix.`), kept up to date
/// by the functions below that add and remove timers (every write of the table is in this
/// file), so a start checks the limit in O(1) instead of counting the table. Not by triggers:
/// a trigger's update per removed row made firing a third slower.
pub(super) const PENDING_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS timer_pending (
    id      INTEGER PRIMARY KEY CHECK (id = 0),
    pending INTEGER NOT NULL
);
INSERT OR REPLACE INTO timer_pending (id, pending)
    SELECT 0, COUNT(*) FROM timer WHERE substr(name, 1, 6) <> 'kalix.';
";

/// Whether the timer `name` counts against the limit: the runtime's own (`kalix.`) do not.
fn counted(name: &str) -> bool {
    !crate::timers::is_runtime_timer(name)
}

/// Adds `delta` to the count of pending timers.
fn count_pending(connection: &Connection, delta: i64) -> Result<(), StoreError> {
    if delta != 0 {
        connection
            .prepare_cached("UPDATE timer_pending SET pending = pending + ?1 WHERE id = 0")
            .map_err(sqlite_error)?
            .execute([delta])
            .map_err(sqlite_error)?;
    }
    Ok(())
}

/// Whether a timer named `name` is stored.
fn exists(connection: &Connection, name: &str) -> Result<bool, StoreError> {
    connection
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM timer WHERE name = ?1)")
        .map_err(sqlite_error)?
        .query_row([name], |row| row.get(0))
        .map_err(sqlite_error)
}

const COLUMNS: &str = "name, generation, due_ms, call, attempts, max_retries";

fn record(row: &Row<'_>) -> rusqlite::Result<TimerRecord> {
    Ok(TimerRecord {
        name: row.get(0)?,
        generation: row.get(1)?,
        due_ms: row.get::<_, i64>(2)? as u64,
        call: Bytes::from(row.get::<_, Vec<u8>>(3)?),
        attempts: row.get::<_, i64>(4)? as u32,
        max_retries: row.get::<_, Option<i64>>(5)?.map(|n| n as u32),
    })
}

pub(super) fn start(
    connection: &mut Connection,
    timer: &TimerRecord,
    max_pending: u64,
) -> Result<TimerStart, StoreError> {
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    // Whether the name is new matters to the limit and to the count; the runtime's own timers
    // (`kalix.`, `max_pending` is `u64::MAX`) are neither limited nor counted.
    let new =
        (max_pending < u64::MAX || counted(&timer.name)) && !exists(&transaction, &timer.name)?;
    if new && max_pending < u64::MAX {
        let pending: i64 = transaction
            .prepare_cached("SELECT pending FROM timer_pending WHERE id = 0")
            .map_err(sqlite_error)?
            .query_row([], |row| row.get(0))
            .map_err(sqlite_error)?;
        if pending as u64 >= max_pending {
            return Ok(TimerStart::TooMany);
        }
    }
    write(&transaction, timer, new)?;
    transaction.commit().map_err(sqlite_error)?;
    Ok(TimerStart::Started)
}

/// Stores `timer` in `transaction`, replacing a timer of its name (and its claim).
pub(super) fn upsert(transaction: &Connection, timer: &TimerRecord) -> Result<(), StoreError> {
    let new = counted(&timer.name) && !exists(transaction, &timer.name)?;
    write(transaction, timer, new)
}

/// Stores `timer`, counting it as pending if it is a `new` name the limit counts.
fn write(transaction: &Connection, timer: &TimerRecord, new: bool) -> Result<(), StoreError> {
    if new && counted(&timer.name) {
        count_pending(transaction, 1)?;
    }
    transaction
        .prepare_cached(
            "INSERT INTO timer (name, generation, due_ms, call, attempts, max_retries) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (name) DO UPDATE SET generation = excluded.generation, \
                 due_ms = excluded.due_ms, call = excluded.call, attempts = excluded.attempts, \
                 max_retries = excluded.max_retries, claimed_until_ms = NULL, owner = NULL",
        )
        .map_err(sqlite_error)?
        .execute(params![
            timer.name,
            timer.generation,
            timer.due_ms as i64,
            timer.call.as_ref(),
            i64::from(timer.attempts),
            timer.max_retries.map(i64::from),
        ])
        .map_err(sqlite_error)?;
    Ok(())
}

pub(super) fn hasten(
    connection: &mut Connection,
    prefix: &str,
    due_ms: u64,
) -> Result<(), StoreError> {
    connection
        .execute(
            "UPDATE timer SET due_ms = ?2 \
             WHERE substr(name, 1, length(?1)) = ?1 AND due_ms > ?2",
            params![prefix, due_ms as i64],
        )
        .map_err(sqlite_error)?;
    Ok(())
}

pub(super) fn cancel(connection: &mut Connection, name: &str) -> Result<(), StoreError> {
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    let removed = transaction
        .execute("DELETE FROM timer WHERE name = ?1", [name])
        .map_err(sqlite_error)?;
    if counted(name) {
        count_pending(&transaction, -(removed as i64))?;
    }
    transaction.commit().map_err(sqlite_error)
}

pub(super) fn claim(
    connection: &mut Connection,
    now_ms: u64,
    claim_ms: u64,
    owner: u64,
    limit: usize,
) -> Result<Vec<TimerRecord>, StoreError> {
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    let due: Vec<TimerRecord> = {
        let mut statement = transaction
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM timer WHERE due_ms <= ?1 ORDER BY due_ms LIMIT ?2"
            ))
            .map_err(sqlite_error)?;
        let rows = statement
            .query_map(params![now_ms as i64, limit as i64], record)
            .map_err(sqlite_error)?;
        rows.collect::<Result<_, _>>().map_err(sqlite_error)?
    };
    {
        let mut update = transaction
            .prepare_cached(
                "UPDATE timer SET claimed_until_ms = ?1, owner = ?2 WHERE name = ?3 AND generation = ?4",
            )
            .map_err(sqlite_error)?;
        for timer in &due {
            update
                .execute(params![
                    (now_ms + claim_ms) as i64,
                    owner as i64,
                    timer.name,
                    timer.generation
                ])
                .map_err(sqlite_error)?;
        }
    }
    transaction.commit().map_err(sqlite_error)?;
    Ok(due)
}

pub(super) fn settle(
    connection: &mut Connection,
    outcomes: &[TimerOutcome],
) -> Result<(), StoreError> {
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    {
        let mut remove = transaction
            .prepare_cached("DELETE FROM timer WHERE name = ?1 AND generation = ?2")
            .map_err(sqlite_error)?;
        let mut retry = transaction
            .prepare_cached(
                "UPDATE timer SET due_ms = ?3, attempts = ?4, claimed_until_ms = NULL, owner = NULL \
                 WHERE name = ?1 AND generation = ?2 AND owner = ?5",
            )
            .map_err(sqlite_error)?;
        let mut removed = 0i64;
        for outcome in outcomes {
            match outcome.retry {
                None => remove
                    .execute(params![outcome.name, outcome.generation])
                    .inspect(|n| {
                        if counted(&outcome.name) {
                            removed += *n as i64;
                        }
                    }),
                Some((due_ms, attempts)) => retry.execute(params![
                    outcome.name,
                    outcome.generation,
                    due_ms as i64,
                    i64::from(attempts),
                    outcome.owner as i64
                ]),
            }
            .map_err(sqlite_error)?;
        }
        count_pending(&transaction, -removed)?;
    }
    transaction.commit().map_err(sqlite_error)
}

pub(super) fn next_due(connection: &Connection, now_ms: u64) -> Result<Option<u64>, StoreError> {
    let due: Option<i64> = connection
        .query_row(
            "SELECT MIN(due_ms) FROM timer WHERE ?1 >= 0",
            [now_ms as i64],
            |row| row.get(0),
        )
        .optional()
        .map_err(sqlite_error)?
        .flatten();
    Ok(due.map(|d| d as u64))
}

pub(super) fn list(connection: &Connection, limit: usize) -> Result<Vec<TimerRecord>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM timer ORDER BY due_ms, name LIMIT ?1"
        ))
        .map_err(sqlite_error)?;
    let rows = statement
        .query_map([limit as i64], record)
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// Up to `limit` timers `filter` selects, earliest due first (the admin API's list). The table
/// is bounded by the pending-timer limit, so a rare filter scans at most that many.
pub(super) fn find(
    connection: &Connection,
    filter: &crate::store::inspect::TimerFilter,
    limit: usize,
) -> Result<Vec<TimerRecord>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM timer \
             WHERE (?1 IS NULL OR substr(name, 1, length(?1)) = ?1) \
               AND (?2 IS NULL OR due_ms < ?2) AND (?3 = 0 OR attempts > 0) \
             ORDER BY due_ms, name LIMIT ?4"
        ))
        .map_err(sqlite_error)?;
    let due_before = filter
        .due_before_ms
        .map(|due| due.min(i64::MAX as u64) as i64);
    let rows = statement
        .query_map(
            rusqlite::params![filter.name_prefix, due_before, filter.failing, limit as i64],
            record,
        )
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

impl TimerStore for SqliteStore {
    fn start_timer(
        &self,
        timer: TimerRecord,
        max_pending: u64,
    ) -> BoxFuture<'static, Result<TimerStart, StoreError>> {
        self.write_outside_batches(move |connection| start(connection, &timer, max_pending))
    }

    fn cancel_timer(&self, name: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        let name = name.to_owned();
        self.write_outside_batches(move |connection| cancel(connection, &name))
    }

    fn claim_due_timers(
        &self,
        now_ms: u64,
        claim_ms: u64,
        owner: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.write_outside_batches(move |connection| {
            claim(connection, now_ms, claim_ms, owner, limit)
        })
    }

    fn settle_timers(
        &self,
        outcomes: Vec<TimerOutcome>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.write_outside_batches(move |connection| settle(connection, &outcomes))
    }

    fn next_timer_due(&self, now_ms: u64) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        self.read("", "", move |connection, _, _| next_due(connection, now_ms))
    }

    fn pending_timers(&self) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        self.read("", "", |connection, _, _| {
            let pending: i64 = connection
                .prepare_cached("SELECT pending FROM timer_pending WHERE id = 0")
                .map_err(sqlite_error)?
                .query_row([], |row| row.get(0))
                .map_err(sqlite_error)?;
            Ok(Some(pending.max(0) as u64))
        })
    }

    fn list_timers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.read("", "", move |connection, _, _| list(connection, limit))
    }

    fn hasten_timers(
        &self,
        prefix: &str,
        due_ms: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let prefix = prefix.to_owned();
        self.write_outside_batches(move |connection| hasten(connection, &prefix, due_ms))
    }
}
