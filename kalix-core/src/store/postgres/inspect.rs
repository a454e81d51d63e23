//! The admin API's reads on PostgreSQL.

use futures_util::future::BoxFuture;

use super::{PostgresStore, db_error, pool_error};
use crate::store::inspect::{
    EntityRows, InspectStore, RECENT_JOURNAL_SCAN, TimerFilter, distinct_first,
};
use crate::store::{ConsumerRecord, FeedOffset, LeaseRecord, StoreError, StoredEvent, TimerRecord};

impl InspectStore for PostgresStore {
    fn recent_entities(
        &self,
        type_id: &str,
        rows: EntityRows,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        let (store, type_id) = (self.clone(), type_id.to_owned());
        Box::pin(async move {
            // Both tables are indexed by (type, feed transaction, feed position); replicas keep
            // no position, and come in the order of their primary key.
            let schema = &store.schema;
            let newest_first = |table: &str| {
                format!(
                    "SELECT entity_id FROM {schema}.{table} WHERE type_id = $1 \
                     ORDER BY feed_tx DESC, feed_position DESC LIMIT $2"
                )
            };
            let (sql, scan) = match rows {
                EntityRows::State => (newest_first("entity_state"), limit),
                EntityRows::Journal => (newest_first("event_journal"), RECENT_JOURNAL_SCAN),
                EntityRows::Replicas => (
                    format!(
                        "SELECT DISTINCT entity_id FROM {schema}.replica_state WHERE type_id = $1 \
                         ORDER BY entity_id LIMIT $2"
                    ),
                    limit,
                ),
            };
            let client = store.pool.get().await.map_err(pool_error)?;
            let rows = client
                .query(&sql, &[&type_id, &(scan as i64)])
                .await
                .map_err(db_error)?;
            Ok(distinct_first(
                rows.iter().map(|row| row.get::<_, String>(0)),
                limit,
            ))
        })
    }

    fn events_page(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>> {
        let (store, type_id, entity_id) = (self.clone(), type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let sql = format!(
                "SELECT seq, type_name, payload FROM {}.event_journal \
                 WHERE type_id = $1 AND entity_id = $2 AND seq >= $3 ORDER BY seq LIMIT $4",
                store.schema
            );
            let from = from_seq.min(i64::MAX as u64) as i64;
            let rows = client
                .query(&sql, &[&type_id, &entity_id, &from, &(limit as i64)])
                .await
                .map_err(db_error)?;
            Ok(rows.iter().map(super::entity::stored_event).collect())
        })
    }

    fn consumers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ConsumerRecord>, StoreError>> {
        let store = self.clone();
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let s = &store.schema;
            let sql = format!(
                "SELECT COALESCE(o.consumer, l.name) AS name, o.tx, o.position, l.owner, \
                        (EXTRACT(EPOCH FROM (l.expires - now())) * 1000)::BIGINT \
                 FROM {s}.consumer_offset o FULL OUTER JOIN {s}.lease l ON l.name = o.consumer \
                 ORDER BY name LIMIT $1"
            );
            let rows = client
                .query(&sql, &[&(limit as i64)])
                .await
                .map_err(db_error)?;
            Ok(rows
                .iter()
                .map(|row| ConsumerRecord {
                    name: row.get(0),
                    offset: row.get::<_, Option<i64>>(2).map(|position| FeedOffset {
                        transaction: row.get::<_, Option<i64>>(1).unwrap_or(0) as u64,
                        position: position as u64,
                    }),
                    lease: row.get::<_, Option<i64>>(3).map(|owner| LeaseRecord {
                        owner: owner as u64,
                        expires_in_ms: row.get::<_, Option<i64>>(4).unwrap_or(0),
                    }),
                })
                .collect())
        })
    }

    fn find_timers(
        &self,
        filter: TimerFilter,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        let store = self.clone();
        Box::pin(async move { super::timer::find(&store, &filter, limit).await })
    }
}
