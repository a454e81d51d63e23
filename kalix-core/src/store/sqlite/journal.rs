//! Event journals in SQLite: every event in one log, in commit order, each linked to its
//! entity's previous event; one head row per entity (where its journal ends, whether it was
//! deleted); and each entity's latest snapshot.
//!
//! Why a log and not a table keyed by (entity, sequence number): a batch of appends to many
//! entities then lands on a few pages at the log's end, where a per-entity key lands on one page
//! per entity. SQLite writes whole pages to its WAL and again at each checkpoint, so appends
//! measured about 4x the cost of state updates keyed by entity, whose table stays small. The
//! head table is as small as the state table, so an append costs about what an update does.
//!
//! Reading an entity walks its chain back from the head to its snapshot (at most
//! `snapshot_every` events), or to the sequence number asked for. The log's order is also the
//! order of a change feed: one writer, so positions are commit order.

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::sqlite_error;
use crate::store::{EventAppend, EventLog, Snapshot, StoreError, StoredEvent, WriteError};

/// The journal tables.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS event_log (
    position  INTEGER PRIMARY KEY,
    type_id   TEXT    NOT NULL,
    entity_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    type_name TEXT    NOT NULL,
    payload   BLOB    NOT NULL,
    previous  INTEGER
);
CREATE TABLE IF NOT EXISTS event_head (
    type_id       TEXT    NOT NULL,
    entity_id     TEXT    NOT NULL,
    last_seq      INTEGER NOT NULL,
    last_position INTEGER,
    deleted       INTEGER NOT NULL,
    PRIMARY KEY (type_id, entity_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_snapshot (
    type_id   TEXT    NOT NULL,
    entity_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    payload   BLOB    NOT NULL,
    PRIMARY KEY (type_id, entity_id)
) WITHOUT ROWID;
";

/// Moves journals of the earlier layout (`event_journal` keyed by entity and sequence number,
/// `event_deleted`) into the log, in one transaction. Their events get positions in (type id,
/// entity id, sequence number) order: the order they were committed in is not recorded there.
pub(super) fn migrate_keyed_journal(connection: &mut Connection) -> Result<(), StoreError> {
    let exists = |connection: &Connection, table: &str| {
        connection
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table],
                |row| row.get::<_, bool>(0),
            )
            .map_err(sqlite_error)
    };
    if !exists(connection, "event_journal")? {
        return Ok(());
    }
    // A savepoint: inside the transaction of its schema step (see `create_tables`).
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    let base: i64 = transaction
        .query_row(
            "SELECT COALESCE(MAX(position), 0) FROM event_log",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite_error)?;
    transaction
        .execute_batch(
            "INSERT INTO event_log (type_id, entity_id, seq, type_name, payload)
                 SELECT type_id, entity_id, seq, type_name, payload FROM event_journal
                 ORDER BY type_id, entity_id, seq;",
        )
        .map_err(sqlite_error)?;
    // A journal runs from 1 without gaps, so an entity's events are consecutive positions.
    transaction
        .execute(
            "UPDATE event_log SET previous = position - 1 WHERE position > ?1 AND seq > 1",
            [base],
        )
        .map_err(sqlite_error)?;
    transaction
        .execute(
            "INSERT INTO event_head (type_id, entity_id, last_seq, last_position, deleted)
                 SELECT type_id, entity_id, MAX(seq), MAX(position), 0 FROM event_log
                 WHERE position > ?1 GROUP BY type_id, entity_id",
            [base],
        )
        .map_err(sqlite_error)?;
    if exists(&transaction, "event_deleted")? {
        transaction
            .execute_batch(
                "INSERT INTO event_head (type_id, entity_id, last_seq, last_position, deleted)
                     SELECT type_id, entity_id, 0, NULL, 1 FROM event_deleted WHERE true
                     ON CONFLICT (type_id, entity_id) DO UPDATE SET deleted = 1;
                 DROP TABLE event_deleted;",
            )
            .map_err(sqlite_error)?;
    }
    transaction
        .execute_batch("DROP TABLE event_journal;")
        .map_err(sqlite_error)?;
    transaction.commit().map_err(sqlite_error)
}

/// Where an entity's journal ends.
struct Head {
    /// Whether the entity has a head row.
    exists: bool,
    last_seq: u64,
    last_position: Option<i64>,
    deleted: bool,
}

fn head(connection: &Connection, type_id: &str, entity_id: &str) -> Result<Head, StoreError> {
    let head = connection
        .prepare_cached(
            "SELECT last_seq, last_position, deleted FROM event_head \
             WHERE type_id = ?1 AND entity_id = ?2",
        )
        .map_err(sqlite_error)?
        .query_row(params![type_id, entity_id], |row| {
            Ok(Head {
                exists: true,
                last_seq: row.get::<_, i64>(0)? as u64,
                last_position: row.get(1)?,
                deleted: row.get(2)?,
            })
        })
        .optional()
        .map_err(sqlite_error)?;
    Ok(head.unwrap_or(Head {
        exists: false,
        last_seq: 0,
        last_position: None,
        deleted: false,
    }))
}

/// The sequence number of an entity's last event: 0 for an empty journal.
pub(super) fn last_seq(
    connection: &Connection,
    type_id: &str,
    entity_id: &str,
) -> Result<u64, StoreError> {
    Ok(head(connection, type_id, entity_id)?.last_seq)
}

/// An entity's events after sequence number `after`, in order: its chain walked back from
/// `last_position`.
fn events_after(
    connection: &Connection,
    last_position: Option<i64>,
    after: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let Some(last_position) = last_position else {
        return Ok(Vec::new());
    };
    let mut statement = connection
        .prepare_cached(
            "WITH RECURSIVE chain (position, seq, type_name, payload, previous) AS ( \
                 SELECT position, seq, type_name, payload, previous FROM event_log \
                 WHERE position = ?1 AND seq > ?2 \
                 UNION ALL \
                 SELECT log.position, log.seq, log.type_name, log.payload, log.previous \
                 FROM event_log AS log JOIN chain ON log.position = chain.previous \
                 WHERE log.seq > ?2) \
             SELECT seq, type_name, payload FROM chain",
        )
        .map_err(sqlite_error)?;
    let newest_first = statement
        .query_map(params![last_position, after as i64], |row| {
            let seq: i64 = row.get(0)?;
            let payload: Vec<u8> = row.get(2)?;
            Ok(StoredEvent {
                seq: seq as u64,
                type_name: row.get(1)?,
                payload: Bytes::from(payload),
            })
        })
        .map_err(sqlite_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_error)?;
    Ok(newest_first.into_iter().rev().collect())
}

/// The events of an entity from sequence number `from` on, in order.
pub(super) fn read_events(
    connection: &Connection,
    type_id: &str,
    entity_id: &str,
    from: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let transaction = connection.unchecked_transaction().map_err(sqlite_error)?;
    let head = head(&transaction, type_id, entity_id)?;
    events_after(&transaction, head.last_position, from.saturating_sub(1))
}

/// An entity's latest snapshot and the events after it, read as of one commit.
pub(super) fn load_events(
    connection: &Connection,
    type_id: &str,
    entity_id: &str,
) -> Result<EventLog, StoreError> {
    let transaction = connection.unchecked_transaction().map_err(sqlite_error)?;
    let head = head(&transaction, type_id, entity_id)?;
    let snapshot = transaction
        .prepare_cached(
            "SELECT seq, payload FROM event_snapshot WHERE type_id = ?1 AND entity_id = ?2",
        )
        .map_err(sqlite_error)?
        .query_row(params![type_id, entity_id], |row| {
            let seq: i64 = row.get(0)?;
            let payload: Vec<u8> = row.get(1)?;
            Ok(Snapshot {
                seq: seq as u64,
                payload: Bytes::from(payload),
            })
        })
        .optional()
        .map_err(sqlite_error)?;
    let after = snapshot.as_ref().map_or(0, |s| s.seq);
    let events = events_after(&transaction, head.last_position, after)?;
    Ok(EventLog {
        snapshot,
        events,
        deleted: head.deleted,
    })
}

/// Appends events if the journal ends at the expected sequence number.
///
/// Two statements for the usual append of one event: the insert, which reads the entity's last
/// position itself (SQLite's `COALESCE` evaluates that lookup only for the first event), and an update of the head that holds only if the journal ended where the
/// writer expected. When it does not hold, the rows just inserted are removed again.
pub(super) fn append_events(
    transaction: &Transaction<'_>,
    append: &EventAppend,
) -> Result<Result<u64, WriteError>, StoreError> {
    let (type_id, entity_id) = (&append.type_id, &append.entity_id);
    let mut first_position = None;
    let mut position: Option<i64> = None;
    let mut seq = append.expected_seq;
    for event in &append.events {
        seq += 1;
        let payload = &event.payload[..];
        // The first event links to where the journal ended; the next ones to the one before.
        transaction
            .prepare_cached(
                "INSERT INTO event_log (type_id, entity_id, seq, type_name, payload, previous, trace_parent) \
                 VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(?6, (SELECT last_position FROM event_head \
                                                          WHERE type_id = ?1 AND entity_id = ?2)), ?7)",
            )
            .map_err(sqlite_error)?
            .execute(params![
                type_id,
                entity_id,
                seq as i64,
                event.type_name,
                payload,
                position,
                append.trace_parent
            ])
            .map_err(sqlite_error)?;
        position = Some(transaction.last_insert_rowid());
        first_position = first_position.or(position);
    }
    let moved = transaction
        .prepare_cached(
            "UPDATE event_head SET last_seq = ?4, last_position = COALESCE(?5, last_position), \
             deleted = ?6 WHERE type_id = ?1 AND entity_id = ?2 AND last_seq = ?3 AND NOT deleted",
        )
        .map_err(sqlite_error)?
        .execute(params![
            type_id,
            entity_id,
            append.expected_seq as i64,
            seq as i64,
            position,
            append.delete
        ])
        .map_err(sqlite_error)?;
    if moved == 1 {
        write_snapshot(transaction, append, seq)?;
        return Ok(Ok(seq));
    }
    let head = head(transaction, type_id, entity_id)?;
    let refused = if head.deleted {
        Some(WriteError::Deleted)
    } else if head.exists || append.expected_seq != 0 {
        Some(WriteError::Conflict {
            expected: append.expected_seq,
            found: (head.last_seq > 0).then_some(head.last_seq),
        })
    } else {
        None
    };
    if let Some(refused) = refused {
        if let Some(first) = first_position {
            transaction
                .prepare_cached("DELETE FROM event_log WHERE position >= ?1")
                .map_err(sqlite_error)?
                .execute([first])
                .map_err(sqlite_error)?;
        }
        return Ok(Err(refused));
    }
    // The entity's first append.
    transaction
        .prepare_cached(
            "INSERT INTO event_head (type_id, entity_id, last_seq, last_position, deleted) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(sqlite_error)?
        .execute(params![
            type_id,
            entity_id,
            seq as i64,
            position,
            append.delete
        ])
        .map_err(sqlite_error)?;
    write_snapshot(transaction, append, seq)?;
    Ok(Ok(seq))
}

/// Keeps the append's snapshot, if it has one, as the entity's snapshot at `seq`.
fn write_snapshot(
    transaction: &Transaction<'_>,
    append: &EventAppend,
    seq: u64,
) -> Result<(), StoreError> {
    if let Some(snapshot) = &append.snapshot {
        transaction
            .prepare_cached(
                "INSERT INTO event_snapshot (type_id, entity_id, seq, payload) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (type_id, entity_id) DO UPDATE SET seq = excluded.seq, payload = excluded.payload",
            )
            .map_err(sqlite_error)?
            .execute(params![append.type_id, append.entity_id, seq as i64, &snapshot[..]])
            .map_err(sqlite_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::{EntityStore, EventAppend, NewEvent, SqliteStore, WriteError};

    /// The tables and rows a store of the earlier layout left.
    const KEYED_JOURNAL: &str = "
        CREATE TABLE event_journal (
            type_id TEXT NOT NULL, entity_id TEXT NOT NULL, seq INTEGER NOT NULL,
            type_name TEXT NOT NULL, payload BLOB NOT NULL,
            PRIMARY KEY (type_id, entity_id, seq)) WITHOUT ROWID;
        CREATE TABLE event_snapshot (
            type_id TEXT NOT NULL, entity_id TEXT NOT NULL, seq INTEGER NOT NULL,
            payload BLOB NOT NULL, PRIMARY KEY (type_id, entity_id)) WITHOUT ROWID;
        CREATE TABLE event_deleted (
            type_id TEXT NOT NULL, entity_id TEXT NOT NULL,
            PRIMARY KEY (type_id, entity_id)) WITHOUT ROWID;
        INSERT INTO event_journal VALUES
            ('cart', 'b', 1, 'Added', CAST('\"b1\"' AS BLOB)), ('cart', 'a', 2, 'Added', CAST('\"a2\"' AS BLOB)),
            ('cart', 'a', 1, 'Added', CAST('\"a1\"' AS BLOB)), ('cart', 'b', 2, 'Closed', CAST('\"b2\"' AS BLOB)),
            ('cart', 'a', 3, 'Added', CAST('\"a3\"' AS BLOB));
        INSERT INTO event_snapshot VALUES ('cart', 'a', 2, CAST('{\"items\":2}' AS BLOB));
        INSERT INTO event_deleted VALUES ('cart', 'b');
    ";

    fn one_more(entity: &str, expected: u64) -> EventAppend {
        EventAppend {
            type_id: "cart".into(),
            entity_id: entity.into(),
            expected_seq: expected,
            follows_own_write: false,
            events: vec![NewEvent {
                type_name: "Added".into(),
                payload: bytes::Bytes::from_static(b"\"more\""),
            }],
            snapshot: None,
            delete: false,
            kept_reply: None,
            trace_parent: None,
        }
    }

    #[tokio::test]
    async fn journals_of_the_keyed_layout_read_back_the_same_after_opening() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kalix.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(KEYED_JOURNAL)
            .unwrap();
        let store = SqliteStore::open(&path).unwrap();
        let log = store.load_events("cart", "a").await.unwrap();
        assert_eq!(log.snapshot.map(|s| s.seq), Some(2));
        let seqs: Vec<_> = log
            .events
            .iter()
            .map(|e| (e.seq, e.payload.clone()))
            .collect();
        assert_eq!(seqs, [(3, bytes::Bytes::from_static(b"\"a3\""))]);
        assert!(!log.deleted);
        let all: Vec<_> = store.read_events("cart", "b", 1).await.unwrap();
        let names: Vec<_> = all.iter().map(|e| (e.seq, e.type_name.as_str())).collect();
        assert_eq!(names, [(1, "Added"), (2, "Closed")]);
        assert!(store.load_events("cart", "b").await.unwrap().deleted);
        assert_eq!(store.last_seq("cart", "a").await.unwrap(), 3);
        // Appends go on from where the migrated journals end.
        let results = store
            .commit(vec![
                one_more("a", 3).into(),
                one_more("a", 2).into(),
                one_more("b", 2).into(),
            ])
            .await
            .unwrap();
        assert_eq!(
            results,
            [
                Ok(4),
                Err(WriteError::Conflict {
                    expected: 2,
                    found: Some(4)
                }),
                Err(WriteError::Deleted)
            ]
        );
        assert_eq!(store.read_events("cart", "a", 1).await.unwrap().len(), 4);
        drop(store);
        // Opening again finds nothing left to move.
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(reopened.last_seq("cart", "a").await.unwrap(), 4);
    }
}
