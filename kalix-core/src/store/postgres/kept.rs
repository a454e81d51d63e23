//! Replies kept under idempotency keys, in the transaction of the change they answered.

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

/// Keeps `kept` for the entity: `false` if its key was kept already.
pub(super) async fn keep(
    store: &PostgresStore,
    transaction: &Tx<'_>,
    (type_id, entity_id, kept): (&str, &str, &KeptReply),
) -> Result<bool, tokio_postgres::Error> {
    let statement = transaction
        .prepare_cached(&format!(
            "INSERT INTO {}.kept_reply (type_id, entity_id, key, reply, kept_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            store.schema
        ))
        .await?;
    let inserted = transaction
        .execute(
            &statement,
            &[
                &type_id,
                &entity_id,
                &kept.key,
                &kept.reply.as_ref(),
                &(crate::store::now_ms() as i64),
            ],
        )
        .await?;
    Ok(inserted == 1)
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

/// The reply kept under `key` for the entity, if any.
pub(super) async fn reply(
    store: &PostgresStore,
    type_id: &str,
    entity_id: &str,
    key: &str,
) -> Result<Option<Bytes>, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT reply FROM {}.kept_reply WHERE type_id = $1 AND entity_id = $2 AND key = $3",
            store.schema
        ))
        .await
        .map_err(db_error)?;
    let row = client
        .query_opt(&statement, &[&type_id, &entity_id, &key])
        .await
        .map_err(db_error)?;
    Ok(row.map(|row| Bytes::from(row.get::<_, Vec<u8>>(0))))
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
