//! Entities in the SQLite store: state rows and journals, loaded and committed; kept replies.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqliteStore, blocking, journal, kept, sqlite_error, timer};
use crate::store::{
    EntityStore, EventLog, KeptReply, StateWrite, StoreError, StoredEvent, StoredState, Write,
    WriteError,
};

impl EntityStore for SqliteStore {
    fn load(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>> {
        self.read(type_id, entity_id, |connection, type_id, entity_id| {
            let mut statement = connection
                .prepare_cached("SELECT version, payload FROM entity_state WHERE type_id = ?1 AND entity_id = ?2")
                .map_err(sqlite_error)?;
            statement
                .query_row(params![type_id, entity_id], |row| {
                    let version: i64 = row.get(0)?;
                    let payload: Option<Vec<u8>> = row.get(1)?;
                    Ok(StoredState {
                        version: version as u64,
                        payload: payload.map(Bytes::from),
                    })
                })
                .optional()
                .map_err(sqlite_error)
        })
    }

    fn commit(
        &self,
        writes: Vec<Write>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>> {
        let writer = Arc::clone(&self.writer);
        let file = self.file.clone();
        blocking(move || {
            let mut connection = writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // One look at the file per batch, after its commit; before it, only the verdict.
            if let Some(file) = &file {
                file.refuse_if_vanished()?;
            }
            let transaction = connection.transaction().map_err(sqlite_error)?;
            let results = writes
                .iter()
                .map(|write| {
                    kept::applying(&transaction, write, || match write {
                        Write::State(state) => write_state(&transaction, state),
                        Write::Events(append) => journal::append_events(&transaction, append),
                        Write::Reply(_) => Ok(Ok(0)),
                        Write::Replica(write) => super::replica::write(&transaction, write),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            transaction.commit().map_err(sqlite_error)?;
            // Checked again after the commit: a file deleted during it took the writes with it.
            if let Some(file) = &file {
                file.check_still_there()?;
            }
            Ok(results)
        })
    }

    fn load_events(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<EventLog, StoreError>> {
        self.read(type_id, entity_id, journal::load_events)
    }

    fn read_events(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>> {
        self.read(type_id, entity_id, move |connection, type_id, entity_id| {
            journal::read_events(connection, type_id, entity_id, from_seq)
        })
    }

    fn kept_reply(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>> {
        let key = key.to_owned();
        self.read(type_id, entity_id, move |connection, type_id, entity_id| {
            kept::reply(connection, type_id, entity_id, &key)
        })
    }

    fn claim_key(
        &self,
        type_id: &str,
        entity_id: &str,
        claim: KeptReply,
        stale_after_ms: u64,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>> {
        let (type_id, entity_id) = (type_id.to_owned(), entity_id.to_owned());
        self.write_outside_batches(move |connection| {
            kept::claim(connection, (&type_id, &entity_id), &claim, stale_after_ms)
        })
    }

    fn release_key(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (type_id, entity_id, key) = (type_id.to_owned(), entity_id.to_owned(), key.to_owned());
        self.write_outside_batches(move |connection| {
            kept::release(connection, (&type_id, &entity_id), &key)
        })
    }

    fn purge_kept_replies(
        &self,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.write_outside_batches(move |connection| kept::purge(connection, before_ms, limit))
    }

    fn state_version(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.read(type_id, entity_id, |connection, type_id, entity_id| {
            let version: Option<i64> = connection
                .prepare_cached(
                    "SELECT version FROM entity_state WHERE type_id = ?1 AND entity_id = ?2",
                )
                .map_err(sqlite_error)?
                .query_row(params![type_id, entity_id], |row| row.get(0))
                .optional()
                .map_err(sqlite_error)?;
            Ok(version.map_or(0, |v| v as u64))
        })
    }

    fn last_seq(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.read(type_id, entity_id, journal::last_seq)
    }
}

/// Replaces a state row if it holds the expected version (0: creates it).
fn write_state(
    transaction: &Transaction<'_>,
    write: &StateWrite,
) -> Result<Result<u64, WriteError>, StoreError> {
    let payload = write.payload.as_deref();
    let applied = if write.expected_version == 0 {
        transaction
            .prepare_cached(
                "INSERT INTO entity_state (type_id, entity_id, version, payload, position, trace_parent) \
                 VALUES (?1, ?2, 1, ?3, (SELECT COALESCE(MAX(position), 0) + 1 FROM entity_state WHERE type_id = ?1), ?4) \
                 ON CONFLICT DO NOTHING",
            )
            .map_err(sqlite_error)?
            .execute(params![write.type_id, write.entity_id, payload, write.trace_parent])
            .map_err(sqlite_error)?
    } else {
        transaction
            .prepare_cached(
                "UPDATE entity_state SET version = ?4, payload = ?5, trace_parent = ?6, \
                 position = (SELECT COALESCE(MAX(position), 0) + 1 FROM entity_state WHERE type_id = ?1) \
                 WHERE type_id = ?1 AND entity_id = ?2 AND version = ?3",
            )
            .map_err(sqlite_error)?
            .execute(params![
                write.type_id,
                write.entity_id,
                write.expected_version as i64,
                write.expected_version as i64 + 1,
                payload,
                write.trace_parent
            ])
            .map_err(sqlite_error)?
    };
    if applied == 1 {
        for timer in &write.timers {
            timer::upsert(transaction, timer)?;
        }
        return Ok(Ok(write.expected_version + 1));
    }
    let found: Option<i64> = transaction
        .prepare_cached("SELECT version FROM entity_state WHERE type_id = ?1 AND entity_id = ?2")
        .map_err(sqlite_error)?
        .query_row(params![write.type_id, write.entity_id], |row| row.get(0))
        .optional()
        .map_err(sqlite_error)?;
    Ok(Err(WriteError::Conflict {
        expected: write.expected_version,
        found: found.map(|v| v as u64),
    }))
}
