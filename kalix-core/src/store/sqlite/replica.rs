//! Replicated entities' rows in the SQLite store (one process: one replica, no news).

use bytes::Bytes;
use futures_util::future::BoxFuture;
use rusqlite::{Transaction, params};

use super::{SqliteStore, sqlite_error};
use crate::store::{ReplicaNews, ReplicaRow, ReplicaStore, ReplicaWrite, StoreError, WriteError};

/// The table (schema version 10).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS replica_state (
    type_id TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    replica INTEGER NOT NULL,
    version INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (type_id, entity_id, replica)
) WITHOUT ROWID;
";

/// Writes `write` in `transaction`: the replica's row with its next version.
pub(super) fn write(
    transaction: &Transaction<'_>,
    write: &ReplicaWrite,
) -> Result<Result<u64, WriteError>, StoreError> {
    let mut statement = transaction
        .prepare_cached(
            "INSERT INTO replica_state (type_id, entity_id, replica, version, payload) \
             VALUES (?1, ?2, ?3, 1, ?4) \
             ON CONFLICT (type_id, entity_id, replica) DO UPDATE \
             SET version = version + 1, payload = excluded.payload RETURNING version",
        )
        .map_err(sqlite_error)?;
    let version: i64 = statement
        .query_row(
            params![
                write.type_id,
                write.entity_id,
                write.replica as i64,
                &write.payload[..]
            ],
            |row| row.get(0),
        )
        .map_err(sqlite_error)?;
    Ok(Ok(version as u64))
}

impl ReplicaStore for SqliteStore {
    fn load_replicas(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Vec<ReplicaRow>, StoreError>> {
        self.read(type_id, entity_id, |connection, type_id, entity_id| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT replica, version, payload FROM replica_state \
                     WHERE type_id = ?1 AND entity_id = ?2",
                )
                .map_err(sqlite_error)?;
            let rows = statement
                .query_map(params![type_id, entity_id], |row| {
                    Ok(ReplicaRow {
                        replica: row.get::<_, i64>(0)? as u64,
                        version: row.get::<_, i64>(1)? as u64,
                        payload: Bytes::from(row.get::<_, Vec<u8>>(2)?),
                    })
                })
                .map_err(sqlite_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(sqlite_error)
        })
    }

    fn replica_news(&self) -> Option<tokio::sync::broadcast::Receiver<ReplicaNews>> {
        None
    }

    fn confirm_replica_write(&self, _: u64, _: u64) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
