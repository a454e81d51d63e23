//! Replies kept under idempotency keys, in the transaction of the change they answered.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::sqlite_error;
use crate::store::{StoreError, Write, WriteError};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kept_reply (
    type_id   TEXT    NOT NULL,
    entity_id TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    reply     BLOB    NOT NULL,
    kept_ms   INTEGER NOT NULL,
    PRIMARY KEY (type_id, entity_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kept_reply_age ON kept_reply (kept_ms);
";

/// Applies `write` with `apply`, keeping its reply under its key first: a key kept already
/// refuses the write ([`WriteError::KeyUsed`]), and a write that does not apply keeps nothing.
pub(super) fn applying(
    transaction: &Transaction<'_>,
    write: &Write,
    apply: impl FnOnce() -> Result<Result<u64, WriteError>, StoreError>,
) -> Result<Result<u64, WriteError>, StoreError> {
    let Some((type_id, entity_id, kept)) = write.kept_reply() else {
        return apply();
    };
    let inserted = transaction
        .prepare_cached(
            "INSERT INTO kept_reply (type_id, entity_id, key, reply, kept_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )
        .map_err(sqlite_error)?
        .execute(params![
            type_id,
            entity_id,
            kept.key,
            kept.reply.as_ref(),
            crate::store::now_ms() as i64
        ])
        .map_err(sqlite_error)?;
    if inserted == 0 {
        return Ok(Err(WriteError::KeyUsed));
    }
    let applied = apply()?;
    if applied.is_err() {
        transaction
            .prepare_cached(
                "DELETE FROM kept_reply WHERE type_id = ?1 AND entity_id = ?2 AND key = ?3",
            )
            .map_err(sqlite_error)?
            .execute(params![type_id, entity_id, kept.key])
            .map_err(sqlite_error)?;
    }
    Ok(applied)
}

/// The reply kept under `key` for the entity, if any.
pub(super) fn reply(
    connection: &Connection,
    type_id: &str,
    entity_id: &str,
    key: &str,
) -> Result<Option<bytes::Bytes>, StoreError> {
    connection
        .prepare_cached(
            "SELECT reply FROM kept_reply WHERE type_id = ?1 AND entity_id = ?2 AND key = ?3",
        )
        .map_err(sqlite_error)?
        .query_row(params![type_id, entity_id, key], |row| {
            row.get::<_, Vec<u8>>(0)
        })
        .optional()
        .map(|reply| reply.map(bytes::Bytes::from))
        .map_err(sqlite_error)
}

/// Removes up to `limit` replies kept before `before_ms`, oldest first.
pub(super) fn purge(
    connection: &mut Connection,
    before_ms: u64,
    limit: usize,
) -> Result<u64, StoreError> {
    let removed = connection
        .prepare_cached(
            "DELETE FROM kept_reply WHERE (type_id, entity_id, key) IN ( \
                 SELECT type_id, entity_id, key FROM kept_reply WHERE kept_ms < ?1 \
                 ORDER BY kept_ms LIMIT ?2)",
        )
        .map_err(sqlite_error)?
        .execute(params![before_ms.min(i64::MAX as u64) as i64, limit as i64])
        .map_err(sqlite_error)?;
    Ok(removed as u64)
}
