//! The embedded SQLite backend: one file (WAL, `synchronous=FULL`), or memory for tests.

use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension, params};

use super::{StateWrite, Store, StoreError, StoredState, WriteError};

/// A store in one SQLite database.
///
/// Writes go through one connection, one transaction per batch; reads use a second connection so
/// they do not wait behind a commit (in WAL mode they see the last committed state).
#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entity_state (
    type_id   TEXT    NOT NULL,
    entity_id TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    payload   BLOB,
    PRIMARY KEY (type_id, entity_id)
) WITHOUT ROWID;
";

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, and its parent directories.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", parent.display())))?;
        }
        let writer = Connection::open(path).map_err(sqlite_error)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;",
            )
            .map_err(sqlite_error)?;
        writer.execute_batch(SCHEMA).map_err(sqlite_error)?;
        let reader = Connection::open(path).map_err(sqlite_error)?;
        reader
            .execute_batch("PRAGMA busy_timeout=5000;")
            .map_err(sqlite_error)?;
        Ok(Self::from_connections(writer, reader))
    }

    /// A private in-memory database, gone when the store is dropped.
    pub fn memory() -> Result<Self, StoreError> {
        // A named shared-cache memory database, so the reader and writer see the same data.
        let uri = format!(
            "file:kalix-{}?mode=memory&cache=shared",
            uuid::Uuid::new_v4()
        );
        let flags = rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let writer = Connection::open_with_flags(&uri, flags).map_err(sqlite_error)?;
        writer.execute_batch(SCHEMA).map_err(sqlite_error)?;
        let reader = Connection::open_with_flags(&uri, flags).map_err(sqlite_error)?;
        reader
            .execute_batch("PRAGMA read_uncommitted=0;")
            .map_err(sqlite_error)?;
        Ok(Self::from_connections(writer, reader))
    }

    fn from_connections(writer: Connection, reader: Connection) -> Self {
        Self {
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
        }
    }
}

fn sqlite_error(error: rusqlite::Error) -> StoreError {
    StoreError(format!("sqlite: {error}"))
}

fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> BoxFuture<'static, Result<T, StoreError>> {
    Box::pin(async move {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| StoreError(format!("store task failed: {e}")))?
    })
}

impl Store for SqliteStore {
    fn load(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>> {
        let reader = Arc::clone(&self.reader);
        let (type_id, entity_id) = (type_id.to_owned(), entity_id.to_owned());
        blocking(move || {
            let connection = reader
                .lock()
                .map_err(|_| StoreError("reader lock poisoned".into()))?;
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
        writes: Vec<StateWrite>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>> {
        let writer = Arc::clone(&self.writer);
        blocking(move || {
            let mut connection = writer
                .lock()
                .map_err(|_| StoreError("writer lock poisoned".into()))?;
            let transaction = connection.transaction().map_err(sqlite_error)?;
            let mut results = Vec::with_capacity(writes.len());
            {
                let mut update = transaction
                    .prepare_cached(
                        "UPDATE entity_state SET version = ?4, payload = ?5 \
                         WHERE type_id = ?1 AND entity_id = ?2 AND version = ?3",
                    )
                    .map_err(sqlite_error)?;
                let mut insert = transaction
                    .prepare_cached(
                        "INSERT INTO entity_state (type_id, entity_id, version, payload) VALUES (?1, ?2, 1, ?3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .map_err(sqlite_error)?;
                let mut current = transaction
                    .prepare_cached(
                        "SELECT version FROM entity_state WHERE type_id = ?1 AND entity_id = ?2",
                    )
                    .map_err(sqlite_error)?;
                for write in &writes {
                    let payload = write.payload.as_deref();
                    let applied = if write.expected_version == 0 {
                        insert
                            .execute(params![write.type_id, write.entity_id, payload])
                            .map_err(sqlite_error)?
                    } else {
                        let next = write.expected_version as i64 + 1;
                        update
                            .execute(params![
                                write.type_id,
                                write.entity_id,
                                write.expected_version as i64,
                                next,
                                payload
                            ])
                            .map_err(sqlite_error)?
                    };
                    if applied == 1 {
                        results.push(Ok(write.expected_version + 1));
                    } else {
                        let found: Option<i64> = current
                            .query_row(params![write.type_id, write.entity_id], |row| row.get(0))
                            .optional()
                            .map_err(sqlite_error)?;
                        results.push(Err(WriteError::Conflict {
                            expected: write.expected_version,
                            found: found.map(|v| v as u64),
                        }));
                    }
                }
            }
            transaction.commit().map_err(sqlite_error)?;
            Ok(results)
        })
    }
}
