//! Replicated entities' rows in PostgreSQL, and the news of replica writes: each write notifies
//! the replicas' channel as it commits, with the entity and the replica in the payload, and each
//! process's listening connection hands what it hears to its replication driver.

use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::{PostgresStore, db_error, pool_error};
use crate::store::replica::{confirmation_payload, news_payload};
use crate::store::{ReplicaNews, ReplicaRow, ReplicaStore, ReplicaWrite, StoreError, WriteError};

/// The table (schema version 8).
pub(super) async fn create_table(
    transaction: &tokio_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), StoreError> {
    transaction
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {schema}.replica_state (
                 type_id TEXT NOT NULL, entity_id TEXT NOT NULL, replica BIGINT NOT NULL,
                 version BIGINT NOT NULL, payload BYTEA NOT NULL,
                 PRIMARY KEY (type_id, entity_id, replica))"
        ))
        .await
        .map_err(db_error)
}

/// The replicas' channel of a schema (the schema is a checked identifier).
pub(super) fn channel(schema: &str) -> String {
    format!("kalix_{schema}_replicas")
}

/// The statements, with the schema filled in.
pub(super) struct ReplicaSql {
    write: String,
    load: String,
}

impl ReplicaSql {
    pub(super) fn new(s: &str) -> Self {
        Self {
            write: format!(
                "INSERT INTO {s}.replica_state AS r (type_id, entity_id, replica, version, payload) \
                 VALUES ($1, $2, $3, 1, $4) \
                 ON CONFLICT (type_id, entity_id, replica) DO UPDATE \
                 SET version = r.version + 1, payload = excluded.payload RETURNING version"
            ),
            load: format!(
                "SELECT replica, version, payload FROM {s}.replica_state \
                 WHERE type_id = $1 AND entity_id = $2"
            ),
        }
    }
}

/// Writes `write` in `transaction` and notifies the other processes as it commits.
pub(super) async fn write(
    store: &PostgresStore,
    transaction: &deadpool_postgres::Transaction<'_>,
    write: &ReplicaWrite,
) -> Result<Result<u64, WriteError>, tokio_postgres::Error> {
    let statement = transaction.prepare_cached(&store.sql.replica.write).await?;
    let row = transaction
        .query_one(
            &statement,
            &[
                &write.type_id,
                &write.entity_id,
                &(write.replica as i64),
                &&write.payload[..],
            ],
        )
        .await?;
    transaction
        .execute(
            "SELECT pg_notify($1, $2)",
            &[&channel(&store.schema), &news_payload(write)],
        )
        .await?;
    Ok(Ok(row.get::<_, i64>(0) as u64))
}

impl ReplicaStore for PostgresStore {
    fn load_replicas(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Vec<ReplicaRow>, StoreError>> {
        let (store, type_id, entity_id) = (self.clone(), type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(&store.sql.replica.load)
                .await
                .map_err(db_error)?;
            let rows = client
                .query(&statement, &[&type_id, &entity_id])
                .await
                .map_err(db_error)?;
            Ok(rows
                .iter()
                .map(|row| ReplicaRow {
                    replica: row.get::<_, i64>(0) as u64,
                    version: row.get::<_, i64>(1) as u64,
                    payload: Bytes::from(row.get::<_, Vec<u8>>(2)),
                })
                .collect())
        })
    }

    fn replica_news(&self) -> Option<tokio::sync::broadcast::Receiver<ReplicaNews>> {
        Some(self.replica_news.subscribe())
    }

    fn confirm_replica_write(
        &self,
        token: u64,
        replica: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            client
                .execute(
                    "SELECT pg_notify($1, $2)",
                    &[
                        &channel(&store.schema),
                        &confirmation_payload(token, replica),
                    ],
                )
                .await
                .map_err(db_error)?;
            Ok(())
        })
    }
}
