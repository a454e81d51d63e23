//! The admin API's reads on SQLite.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use rusqlite::{Connection, params};

use super::{SqliteStore, sqlite_error};
use crate::store::inspect::{
    EntityRows, InspectStore, RECENT_JOURNAL_SCAN, TimerFilter, distinct_first,
};
use crate::store::{ConsumerRecord, FeedOffset, StoreError, StoredEvent, TimerRecord};

impl InspectStore for SqliteStore {
    fn recent_entities(
        &self,
        type_id: &str,
        rows: EntityRows,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        self.read(type_id, "", move |connection, type_id, _| {
            recent(connection, type_id, rows, limit)
        })
    }

    fn events_page(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>> {
        self.read(type_id, entity_id, move |connection, type_id, entity_id| {
            events_page(connection, type_id, entity_id, from_seq, limit)
        })
    }

    fn consumers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ConsumerRecord>, StoreError>> {
        // One process per file: it grants every lease and keeps none.
        self.read("", "", move |connection, _, _| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT consumer, position FROM consumer_offset ORDER BY consumer LIMIT ?1",
                )
                .map_err(sqlite_error)?;
            let rows = statement
                .query_map([limit as i64], |row| {
                    Ok(ConsumerRecord {
                        name: row.get(0)?,
                        offset: Some(FeedOffset {
                            transaction: 0,
                            position: row.get::<_, i64>(1)? as u64,
                        }),
                        lease: None,
                    })
                })
                .map_err(sqlite_error)?;
            rows.collect::<Result<_, _>>().map_err(sqlite_error)
        })
    }

    fn find_timers(
        &self,
        filter: TimerFilter,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.read("", "", move |connection, _, _| {
            super::timer::find(connection, &filter, limit)
        })
    }
}

/// Both tables are indexed by (type, position): the newest come first without a sort. Replicas
/// keep no position: their ids come in order.
fn recent(
    connection: &Connection,
    type_id: &str,
    rows: EntityRows,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let (sql, scan) = match rows {
        EntityRows::State => (
            "SELECT entity_id FROM entity_state WHERE type_id = ?1 AND position IS NOT NULL \
             ORDER BY position DESC LIMIT ?2",
            limit,
        ),
        EntityRows::Journal => (
            "SELECT entity_id FROM event_log WHERE type_id = ?1 ORDER BY position DESC LIMIT ?2",
            RECENT_JOURNAL_SCAN,
        ),
        // In the primary key's order: each id once, in order.
        EntityRows::Replicas => (
            "SELECT DISTINCT entity_id FROM replica_state WHERE type_id = ?1 \
             ORDER BY entity_id LIMIT ?2",
            limit,
        ),
    };
    let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
    let ids: Vec<String> = statement
        .query_map(params![type_id, scan as i64], |row| row.get::<_, String>(0))
        .map_err(sqlite_error)?
        .collect::<Result<_, _>>()
        .map_err(sqlite_error)?;
    Ok(distinct_first(ids, limit))
}

/// The journal is a chain from its newest event back: it is walked from the head to `from`,
/// keeping only the page, so memory is bounded by `limit`.
fn events_page(
    connection: &Connection,
    type_id: &str,
    entity_id: &str,
    from: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let transaction = connection.unchecked_transaction().map_err(sqlite_error)?;
    let head: Option<i64> = transaction
        .prepare_cached(
            "SELECT last_position FROM event_head WHERE type_id = ?1 AND entity_id = ?2",
        )
        .map_err(sqlite_error)?
        .query_row(params![type_id, entity_id], |row| row.get(0))
        .or_else(|error| match error {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })
        .map_err(sqlite_error)?;
    let Some(head) = head else {
        return Ok(Vec::new());
    };
    let mut statement = transaction
        .prepare_cached(
            "WITH RECURSIVE chain (position, seq, type_name, payload, previous) AS ( \
                 SELECT position, seq, type_name, payload, previous FROM event_log \
                 WHERE position = ?1 AND seq >= ?2 \
                 UNION ALL \
                 SELECT log.position, log.seq, log.type_name, log.payload, log.previous \
                 FROM event_log AS log JOIN chain ON log.position = chain.previous \
                 WHERE log.seq >= ?2) \
             SELECT seq, type_name, payload FROM chain",
        )
        .map_err(sqlite_error)?;
    let end = from.saturating_add(limit as u64);
    let mut page = Vec::with_capacity(limit.min(1024));
    let mut rows = statement
        .query(params![head, from.min(i64::MAX as u64) as i64])
        .map_err(sqlite_error)?;
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let seq = row.get::<_, i64>(0).map_err(sqlite_error)? as u64;
        if seq >= end || page.len() == limit {
            continue;
        }
        page.push(StoredEvent {
            seq,
            type_name: row.get(1).map_err(sqlite_error)?,
            payload: Bytes::from(row.get::<_, Vec<u8>>(2).map_err(sqlite_error)?),
        });
    }
    page.reverse();
    Ok(page)
}
