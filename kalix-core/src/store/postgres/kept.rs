//! Replies kept under idempotency keys, in the transaction of the change they answered.

use std::collections::HashSet;

use bytes::Bytes;
use deadpool_postgres::Transaction as Tx;

use super::{PostgresStore, db_error, pool_error};
use crate::store::{KeptReply, StoreError};

/// Creates the table if missing.
pub(super) async fn create(
    transaction: &tokio_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), StoreError> {
    transaction
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {schema}.kept_reply (
                 type_id TEXT NOT NULL, entity_id TEXT NOT NULL, key TEXT NOT NULL,
                 reply BYTEA NOT NULL, kept_ms BIGINT NOT NULL,
                 PRIMARY KEY (type_id, entity_id, key));
             CREATE INDEX IF NOT EXISTS kept_reply_age ON {schema}.kept_reply (kept_ms);"
        ))
        .await
        .map_err(db_error)
}

/// What schema version 7 adds: the request's digest, the reply's status and content type (a
/// reply kept before is a 200 of JSON matching any request).
pub(super) async fn add_reply_columns(
    transaction: &tokio_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), StoreError> {
    transaction
        .batch_execute(&format!(
            "ALTER TABLE {schema}.kept_reply ADD COLUMN IF NOT EXISTS fingerprint TEXT NOT NULL DEFAULT '';
             ALTER TABLE {schema}.kept_reply ADD COLUMN IF NOT EXISTS status INTEGER NOT NULL DEFAULT 200;
             ALTER TABLE {schema}.kept_reply ADD COLUMN IF NOT EXISTS content_type TEXT DEFAULT 'application/json';"
        ))
        .await
        .map_err(db_error)
}

/// Now in ms since the epoch, by the database's clock.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// The insert shared by keeping and claiming: `$1..$7` are the row, `kept_ms` its time.
fn upsert(schema: &str, kept_ms: &str, on_conflict: &str) -> String {
    format!(
        "INSERT INTO {schema}.kept_reply AS kept \
         (type_id, entity_id, key, fingerprint, status, content_type, reply, kept_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, {kept_ms}) \
         ON CONFLICT (type_id, entity_id, key) DO UPDATE SET {on_conflict}"
    )
}

/// What keeping a reply changes of a row its key holds: only a claim's (status 0) is replaced.
const KEEP_OVER_CLAIM: &str = "fingerprint = excluded.fingerprint, status = excluded.status, \
     content_type = excluded.content_type, reply = excluded.reply, \
     kept_ms = excluded.kept_ms WHERE kept.status = 0";

/// Keeps `kept` for the entity, replacing a claim on its key: `false` if a reply was kept
/// under it already.
pub(super) async fn keep(
    store: &PostgresStore,
    transaction: &Tx<'_>,
    (type_id, entity_id, kept): (&str, &str, &KeptReply),
) -> Result<bool, tokio_postgres::Error> {
    let statement = transaction
        .prepare_cached(&upsert(&store.schema, "$8", KEEP_OVER_CLAIM))
        .await?;
    let inserted = transaction
        .execute(
            &statement,
            &[
                &type_id,
                &entity_id,
                &kept.key,
                &kept.fingerprint,
                &i32::from(kept.status),
                &kept.content_type,
                &kept.body.as_ref(),
                &(crate::store::now_ms() as i64),
            ],
        )
        .await?;
    Ok(inserted == 1)
}

/// Keeps each of `kept` (as [`keep`] does, in one statement for all of them): per entry, `false`
/// if a reply was kept under its key already. A key twice in `kept` goes entry by entry, as
/// one statement cannot insert a row and then find it.
pub(super) async fn keep_all(
    store: &PostgresStore,
    transaction: &Tx<'_>,
    kept: &[(&str, &str, &KeptReply)],
) -> Result<Vec<bool>, tokio_postgres::Error> {
    let mut scopes = HashSet::with_capacity(kept.len());
    let distinct = kept.iter().all(|(type_id, entity_id, reply)| {
        scopes.insert((*type_id, *entity_id, reply.key.as_str()))
    });
    if !distinct || kept.len() < 2 {
        let mut each = Vec::with_capacity(kept.len());
        for entry in kept {
            each.push(keep(store, transaction, *entry).await?);
        }
        return Ok(each);
    }
    let statement = transaction
        .prepare_cached(&format!(
            "INSERT INTO {schema}.kept_reply AS kept \
             (type_id, entity_id, key, fingerprint, status, content_type, reply, kept_ms) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], \
                                  $6::text[], $7::bytea[], $8::bigint[]) \
             ON CONFLICT (type_id, entity_id, key) DO UPDATE SET {KEEP_OVER_CLAIM} \
             RETURNING kept.type_id, kept.entity_id, kept.key",
            schema = store.schema
        ))
        .await?;
    let type_ids: Vec<&str> = kept.iter().map(|(type_id, _, _)| *type_id).collect();
    let entity_ids: Vec<&str> = kept.iter().map(|(_, entity_id, _)| *entity_id).collect();
    let keys: Vec<&str> = kept
        .iter()
        .map(|(_, _, reply)| reply.key.as_str())
        .collect();
    let fingerprints: Vec<&str> = kept
        .iter()
        .map(|(_, _, r)| r.fingerprint.as_str())
        .collect();
    let statuses: Vec<i32> = kept.iter().map(|(_, _, r)| i32::from(r.status)).collect();
    let content_types: Vec<Option<&str>> = kept
        .iter()
        .map(|(_, _, r)| r.content_type.as_deref())
        .collect();
    let bodies: Vec<&[u8]> = kept
        .iter()
        .map(|(_, _, reply)| reply.body.as_ref())
        .collect();
    let now = vec![crate::store::now_ms() as i64; kept.len()];
    let rows = transaction
        .query(
            &statement,
            &[
                &type_ids,
                &entity_ids,
                &keys,
                &fingerprints,
                &statuses,
                &content_types,
                &bodies,
                &now,
            ],
        )
        .await?;
    let inserted: HashSet<(&str, &str, &str)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    Ok(kept
        .iter()
        .map(|(type_id, entity_id, reply)| {
            inserted.contains(&(*type_id, *entity_id, reply.key.as_str()))
        })
        .collect())
}

/// Claims `claim.key` (see [`EntityStore::claim_key`](crate::store::EntityStore::claim_key)).
pub(super) async fn claim(
    store: &PostgresStore,
    (type_id, entity_id): (&str, &str),
    claim: &KeptReply,
    stale_after_ms: u64,
) -> Result<Option<KeptReply>, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        // Times by the database's clock: the waiter's and the holder's clocks need not agree.
        .prepare_cached(&format!(
            "{} WHERE kept.status = 0 AND kept.kept_ms < {DB_NOW_MS} - $8",
            upsert(
                &store.schema,
                DB_NOW_MS,
                "fingerprint = excluded.fingerprint, kept_ms = excluded.kept_ms"
            )
        ))
        .await
        .map_err(db_error)?;
    let claimed = client
        .execute(
            &statement,
            &[
                &type_id,
                &entity_id,
                &claim.key,
                &claim.fingerprint,
                &i32::from(KeptReply::RUNNING),
                &Option::<String>::None,
                &(&[] as &[u8]),
                &(stale_after_ms.min(i64::MAX as u64) as i64),
            ],
        )
        .await
        .map_err(db_error)?;
    if claimed == 1 {
        return Ok(None);
    }
    drop(client);
    // Held: by a reply, or a live claim (which, gone by now, is reported as still running).
    Ok(Some(
        reply(store, type_id, entity_id, &claim.key)
            .await?
            .unwrap_or(KeptReply {
                status: KeptReply::RUNNING,
                ..claim.clone()
            }),
    ))
}

/// Removes the claim on `key`, if a claim holds it.
pub(super) async fn release(
    store: &PostgresStore,
    (type_id, entity_id): (&str, &str),
    key: &str,
) -> Result<(), StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    client
        .execute(
            &format!(
                "DELETE FROM {}.kept_reply WHERE type_id = $1 AND entity_id = $2 AND key = $3 \
                 AND status = 0",
                store.schema
            ),
            &[&type_id, &entity_id, &key],
        )
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Forgets `kept` again: the write it went with did not apply.
pub(super) async fn forget(
    store: &PostgresStore,
    transaction: &Tx<'_>,
    (type_id, entity_id, kept): (&str, &str, &KeptReply),
) -> Result<(), tokio_postgres::Error> {
    let statement = transaction
        .prepare_cached(&format!(
            "DELETE FROM {}.kept_reply WHERE type_id = $1 AND entity_id = $2 AND key = $3",
            store.schema
        ))
        .await?;
    transaction
        .execute(&statement, &[&type_id, &entity_id, &kept.key])
        .await?;
    Ok(())
}

/// The reply (or claim) kept under `key` for the entity, if any.
pub(super) async fn reply(
    store: &PostgresStore,
    type_id: &str,
    entity_id: &str,
    key: &str,
) -> Result<Option<KeptReply>, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT fingerprint, status, content_type, reply FROM {}.kept_reply \
             WHERE type_id = $1 AND entity_id = $2 AND key = $3",
            store.schema
        ))
        .await
        .map_err(db_error)?;
    let row = client
        .query_opt(&statement, &[&type_id, &entity_id, &key])
        .await
        .map_err(db_error)?;
    Ok(row.map(|row| KeptReply {
        key: key.to_owned(),
        fingerprint: row.get(0),
        status: u16::try_from(row.get::<_, i32>(1)).unwrap_or(500),
        content_type: row.get(2),
        body: Bytes::from(row.get::<_, Vec<u8>>(3)),
    }))
}

/// Removes up to `limit` replies kept before `before_ms`, oldest first.
pub(super) async fn purge(
    store: &PostgresStore,
    before_ms: u64,
    limit: usize,
) -> Result<u64, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let s = &store.schema;
    client
        .execute(
            &format!(
                "DELETE FROM {s}.kept_reply WHERE (type_id, entity_id, key) IN ( \
                     SELECT type_id, entity_id, key FROM {s}.kept_reply WHERE kept_ms < $1 \
                     ORDER BY kept_ms LIMIT $2)"
            ),
            &[&(before_ms.min(i64::MAX as u64) as i64), &(limit as i64)],
        )
        .await
        .map_err(db_error)
}
