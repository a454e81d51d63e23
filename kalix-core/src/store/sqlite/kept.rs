//! Replies kept under idempotency keys, in the transaction of the change they answered.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::sqlite_error;
use crate::store::{KeptReply, StoreError, Write, WriteError};

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

/// What schema version 9 adds: the request's digest, the reply's status and content type (a
/// reply kept before is a 200 of JSON matching any request).
pub(super) const REPLY_COLUMNS: &str = "
ALTER TABLE kept_reply ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE kept_reply ADD COLUMN status INTEGER NOT NULL DEFAULT 200;
ALTER TABLE kept_reply ADD COLUMN content_type TEXT DEFAULT 'application/json';
";

/// The insert keeping and claiming share (`?1..?8` are the row), with what a conflict updates.
macro_rules! upsert {
    ($on_conflict:literal) => {
        concat!(
            "INSERT INTO kept_reply \
             (type_id, entity_id, key, fingerprint, status, content_type, reply, kept_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (type_id, entity_id, key) DO UPDATE SET ",
            $on_conflict
        )
    };
}

/// Keeps `kept`, replacing a claim on its key: 0 rows changed means a reply was kept already.
const KEEP: &str = upsert!(
    "fingerprint = excluded.fingerprint, status = excluded.status, \
     content_type = excluded.content_type, reply = excluded.reply, kept_ms = excluded.kept_ms \
     WHERE kept_reply.status = 0"
);

/// Claims a key: free, or held by a claim made before ?9 (ms since the epoch).
const CLAIM: &str = upsert!(
    "fingerprint = excluded.fingerprint, kept_ms = excluded.kept_ms \
     WHERE kept_reply.status = 0 AND kept_reply.kept_ms < ?9"
);

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
        .prepare_cached(KEEP)
        .map_err(sqlite_error)?
        .execute(params![
            type_id,
            entity_id,
            kept.key,
            kept.fingerprint,
            kept.status,
            kept.content_type,
            kept.body.as_ref(),
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

/// Claims `claim.key` (see [`EntityStore::claim_key`](crate::store::EntityStore::claim_key)).
pub(super) fn claim(
    connection: &mut Connection,
    (type_id, entity_id): (&str, &str),
    claim: &KeptReply,
    stale_after_ms: u64,
) -> Result<Option<KeptReply>, StoreError> {
    let claimed = connection
        .prepare_cached(CLAIM)
        .map_err(sqlite_error)?
        .execute(params![
            type_id,
            entity_id,
            claim.key,
            claim.fingerprint,
            KeptReply::RUNNING,
            Option::<String>::None,
            &[][..] as &[u8],
            crate::store::now_ms() as i64,
            crate::store::now_ms().saturating_sub(stale_after_ms) as i64
        ])
        .map_err(sqlite_error)?;
    if claimed == 1 {
        return Ok(None);
    }
    // Held: by a reply, or a live claim (which, gone by now, is reported as still running).
    Ok(Some(
        reply(connection, type_id, entity_id, &claim.key)?.unwrap_or(KeptReply {
            status: KeptReply::RUNNING,
            ..claim.clone()
        }),
    ))
}

/// Removes the claim on `key`, if a claim holds it.
pub(super) fn release(
    connection: &mut Connection,
    (type_id, entity_id): (&str, &str),
    key: &str,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "DELETE FROM kept_reply WHERE type_id = ?1 AND entity_id = ?2 AND key = ?3 \
             AND status = 0",
        )
        .map_err(sqlite_error)?
        .execute(params![type_id, entity_id, key])
        .map_err(sqlite_error)?;
    Ok(())
}

/// The reply (or claim) kept under `key` for the entity, if any.
pub(super) fn reply(
    connection: &Connection,
    type_id: &str,
    entity_id: &str,
    key: &str,
) -> Result<Option<KeptReply>, StoreError> {
    connection
        .prepare_cached(
            "SELECT fingerprint, status, content_type, reply FROM kept_reply \
             WHERE type_id = ?1 AND entity_id = ?2 AND key = ?3",
        )
        .map_err(sqlite_error)?
        .query_row(params![type_id, entity_id, key], |row| {
            Ok(KeptReply {
                key: key.to_owned(),
                fingerprint: row.get(0)?,
                status: row.get(1)?,
                content_type: row.get(2)?,
                body: bytes::Bytes::from(row.get::<_, Vec<u8>>(3)?),
            })
        })
        .optional()
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
