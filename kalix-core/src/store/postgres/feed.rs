//! The change feed in PostgreSQL, and consumer progress.
//!
//! Every state row and event carries the id of the transaction that wrote it (`feed_tx`, an
//! `xid8`) and a number from one sequence (`feed_position`). A transaction may commit after one
//! that began later, so neither orders commits; what does hold is that a transaction running
//! now, or starting later, has an id at least `pg_snapshot_xmin(pg_current_snapshot())`, the
//! oldest still running. So the feed hands out only entries below that mark, in (transaction,
//! position) order: once a reader has passed an offset, nothing can commit below it.
//!
//! The price: an entry waits for every transaction that was running when it was written to end
//! (any transaction of the cluster holding an id, so a session left idle in a transaction stalls
//! the feed until it ends), and one entity's events may come out of order when its appends were
//! made by transactions whose ids are in the other order. A consumer tells that from the
//! sequence numbers and reads the entity's missing events from its journal.

use crate::store::FeedStore;
use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::{PostgresStore, column_missing, db_error, pool_error};
use crate::store::{
    ConsumerProgress, FeedEntry, FeedKind, FeedOffset, StoreError, StoredMessage, TopicAppend,
    TopicMessage,
};

/// The columns that place a row in the feed, in the order [`place`] gives their values.
pub(super) const FEED_COLUMNS: &str = "feed_tx, feed_position";

/// The values of [`FEED_COLUMNS`] for a row written now.
pub(super) fn place(schema: &str) -> String {
    format!("pg_current_xact_id(), nextval('{schema}.feed_position')")
}

/// Creates what the feed needs, changing tables that lack it only where something is missing:
/// `ALTER TABLE` and `CREATE INDEX` lock a table even when they have nothing to do, which would
/// stall the writes of processes already serving.
pub(super) async fn create(
    transaction: &tokio_postgres::Transaction<'_>,
    schema: &str,
) -> Result<(), StoreError> {
    let s = schema;
    // The sequence is cached per session: positions are compared only within one transaction
    // (one session), where they still grow, so the cache saves a sequence access per write.
    transaction
        .batch_execute(&format!(
            "CREATE SEQUENCE IF NOT EXISTS {s}.feed_position CACHE 1000;
             CREATE TABLE IF NOT EXISTS {s}.consumer_offset (
                 consumer TEXT PRIMARY KEY, tx BIGINT NOT NULL, position BIGINT NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.topic_message (
                 topic TEXT NOT NULL, message_id TEXT NOT NULL, attributes TEXT NOT NULL,
                 payload BYTEA NOT NULL,
                 feed_tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
                 feed_position BIGINT NOT NULL DEFAULT nextval('{s}.feed_position'),
                 PRIMARY KEY (topic, message_id));
             CREATE TABLE IF NOT EXISTS {s}.lease (
                 name TEXT PRIMARY KEY, owner BIGINT NOT NULL, expires TIMESTAMPTZ NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.consumer_seq (
                 consumer TEXT NOT NULL, entity_id TEXT NOT NULL, seq BIGINT NOT NULL,
                 PRIMARY KEY (consumer, entity_id));"
        ))
        .await
        .map_err(db_error)?;
    // When each topic message was published, for retention (messages from before it: 0). Looked
    // up first: an ALTER would wait for every writer of the table, even with IF NOT EXISTS.
    if column_missing(transaction, schema, "topic_message", "published_ms").await? {
        transaction
            .batch_execute(&format!(
                "ALTER TABLE {s}.topic_message ADD COLUMN published_ms BIGINT NOT NULL DEFAULT 0"
            ))
            .await
            .map_err(db_error)?;
    }
    for table in ["entity_state", "event_journal"] {
        let missing = column_missing(transaction, schema, table, "feed_tx").await?;
        if missing {
            // Rows written before the feed existed enter it at this transaction.
            transaction
                .batch_execute(&format!(
                    "ALTER TABLE {s}.{table} \
                     ADD COLUMN feed_tx xid8 NOT NULL DEFAULT pg_current_xact_id(), \
                     ADD COLUMN feed_position BIGINT NOT NULL DEFAULT nextval('{s}.feed_position')"
                ))
                .await
                .map_err(db_error)?;
        }
    }
    for (table, key) in [
        ("entity_state", "type_id"),
        ("event_journal", "type_id"),
        ("topic_message", "topic"),
    ] {
        let index = format!("{table}_feed");
        let missing = transaction
            .query_opt(
                "SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2",
                &[&schema, &index],
            )
            .await
            .map_err(db_error)?
            .is_none();
        if missing {
            transaction
                .batch_execute(&format!(
                    "CREATE INDEX IF NOT EXISTS {index} ON {s}.{table} ({key}, feed_tx, feed_position)"
                ))
                .await
                .map_err(db_error)?;
        }
    }
    Ok(())
}

/// The feed's statements, with the schema filled in.
pub(super) struct FeedSql {
    state_changes: String,
    events: String,
    offset: String,
    seqs: String,
    save_offset: String,
    save_seq: String,
    pub(super) lease: String,
    pub(super) release_lease: String,
    pub(super) count_leases: String,
    publish: String,
    read_topic: String,
    prune_topic: String,
}

impl FeedSql {
    pub(super) fn new(s: &str) -> Self {
        // Below the oldest transaction still running, every transaction has ended.
        let read = |table: &str, columns: &str| {
            format!(
                "SELECT feed_tx::text::bigint, feed_position, entity_id, {columns} FROM {s}.{table} \
                 WHERE type_id = $1 AND (feed_tx, feed_position) > ($2::bigint::text::xid8, $3) \
                   AND feed_tx < pg_snapshot_xmin(pg_current_snapshot()) \
                 ORDER BY feed_tx, feed_position LIMIT $4"
            )
        };
        Self {
            state_changes: read("entity_state", "version, NULL::text, payload, trace_parent"),
            events: read("event_journal", "seq, type_name, payload, trace_parent"),
            offset: format!("SELECT tx, position FROM {s}.consumer_offset WHERE consumer = $1"),
            seqs: format!(
                "SELECT entity_id, seq FROM {s}.consumer_seq WHERE consumer = $1 AND entity_id = ANY($2)"
            ),
            save_offset: format!(
                "INSERT INTO {s}.consumer_offset (consumer, tx, position) VALUES ($1, $2, $3) \
                 ON CONFLICT (consumer) DO UPDATE SET tx = excluded.tx, position = excluded.position"
            ),
            save_seq: format!(
                "INSERT INTO {s}.consumer_seq (consumer, entity_id, seq) VALUES ($1, $2, $3) \
                 ON CONFLICT (consumer, entity_id) DO UPDATE SET seq = excluded.seq"
            ),
            // The database's clock, so processes whose clocks differ agree on expiry.
            lease: format!(
                "INSERT INTO {s}.lease (name, owner, expires) \
                 VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond') \
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires \
                 WHERE lease.owner = excluded.owner OR lease.expires < clock_timestamp() \
                 RETURNING owner"
            ),
            release_lease: format!("DELETE FROM {s}.lease WHERE name = $1 AND owner = $2"),
            count_leases: format!(
                "SELECT count(*) FROM {s}.lease WHERE starts_with(name, $1) AND expires >= clock_timestamp()"
            ),
            publish: format!(
                "INSERT INTO {s}.topic_message (topic, message_id, attributes, payload, published_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
            ),
            prune_topic: format!(
                "DELETE FROM {s}.topic_message WHERE (topic, message_id) IN ( \
                     SELECT topic, message_id FROM {s}.topic_message \
                     WHERE topic = $1 AND (feed_tx, feed_position) <= ($2::bigint::text::xid8, $3) \
                       AND published_ms < $4 \
                     ORDER BY feed_tx, feed_position LIMIT $5)"
            ),
            read_topic: format!(
                "SELECT feed_tx::text::bigint, feed_position, message_id, attributes, payload \
                 FROM {s}.topic_message \
                 WHERE topic = $1 AND (feed_tx, feed_position) > ($2::bigint::text::xid8, $3) \
                   AND feed_tx < pg_snapshot_xmin(pg_current_snapshot()) \
                 ORDER BY feed_tx, feed_position LIMIT $4"
            ),
        }
    }
}

/// Up to `limit` entries of the type's feed after `after`.
pub(super) async fn read(
    store: &PostgresStore,
    kind: FeedKind,
    type_id: &str,
    after: FeedOffset,
    limit: usize,
) -> Result<Vec<FeedEntry>, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let sql = match kind {
        FeedKind::StateChanges => &store.sql.feed.state_changes,
        FeedKind::Events => &store.sql.feed.events,
    };
    let statement = client.prepare_cached(sql).await.map_err(db_error)?;
    let rows = client
        .query(
            &statement,
            &[
                &type_id,
                &(after.transaction as i64),
                &(after.position as i64),
                &(limit as i64),
            ],
        )
        .await
        .map_err(db_error)?;
    Ok(rows
        .iter()
        .map(|row| FeedEntry {
            offset: FeedOffset {
                transaction: row.get::<_, i64>(0) as u64,
                position: row.get::<_, i64>(1) as u64,
            },
            entity_id: row.get(2),
            seq: row.get::<_, i64>(3) as u64,
            type_name: row.get(4),
            payload: row.get::<_, Option<Vec<u8>>>(5).map(Bytes::from),
            trace_parent: row.get(6),
        })
        .collect())
}

/// The consumer's saved progress, with its sequence numbers for `entity_ids`.
pub(super) async fn progress(
    store: &PostgresStore,
    consumer: &str,
    entity_ids: &[String],
) -> Result<ConsumerProgress, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(&store.sql.feed.offset)
        .await
        .map_err(db_error)?;
    let offset = client
        .query_opt(&statement, &[&consumer])
        .await
        .map_err(db_error)?
        .map(|row| FeedOffset {
            transaction: row.get::<_, i64>(0) as u64,
            position: row.get::<_, i64>(1) as u64,
        })
        .unwrap_or_default();
    let statement = client
        .prepare_cached(&store.sql.feed.seqs)
        .await
        .map_err(db_error)?;
    let seqs = client
        .query(&statement, &[&consumer, &entity_ids])
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1) as u64))
        .collect();
    Ok(ConsumerProgress { offset, seqs })
}

/// Saves the consumer's offset and sequence numbers in one transaction.
pub(super) async fn save(
    store: &PostgresStore,
    consumer: &str,
    progress: &ConsumerProgress,
) -> Result<(), StoreError> {
    let mut client = store.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    save_in(store, &transaction, consumer, progress).await?;
    transaction.commit().await.map_err(db_error)
}

/// Saves the consumer's offset and sequence numbers inside a transaction the caller commits.
pub(super) async fn save_in(
    store: &PostgresStore,
    transaction: &deadpool_postgres::Transaction<'_>,
    consumer: &str,
    progress: &ConsumerProgress,
) -> Result<(), StoreError> {
    let statement = transaction
        .prepare_cached(&store.sql.feed.save_offset)
        .await
        .map_err(db_error)?;
    transaction
        .execute(
            &statement,
            &[
                &consumer,
                &(progress.offset.transaction as i64),
                &(progress.offset.position as i64),
            ],
        )
        .await
        .map_err(db_error)?;
    let statement = transaction
        .prepare_cached(&store.sql.feed.save_seq)
        .await
        .map_err(db_error)?;
    for (entity_id, seq) in &progress.seqs {
        transaction
            .execute(&statement, &[&consumer, entity_id, &(*seq as i64)])
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Appends messages to a topic in one transaction; an id the topic holds is dropped.
pub(super) async fn publish(
    store: &PostgresStore,
    topic: &str,
    messages: &[TopicMessage],
) -> Result<(), StoreError> {
    let mut client = store.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    append(store, &transaction, topic, messages).await?;
    // Wakes other processes' readers of the topic as the transaction commits.
    transaction
        .batch_execute(&store.sql.notify)
        .await
        .map_err(db_error)?;
    transaction.commit().await.map_err(db_error)
}

/// Appends a consumer's messages and saves its progress in one transaction. Ids are checked as
/// [`publish`] checks them: the index of them is one PostgreSQL keeps anyway.
pub(super) async fn publish_with_progress(
    store: &PostgresStore,
    consumer: &str,
    progress: &ConsumerProgress,
    appends: &[TopicAppend],
) -> Result<(), StoreError> {
    let mut client = store.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    for TopicAppend { topic, messages } in appends {
        append(store, &transaction, topic, messages).await?;
    }
    save_in(store, &transaction, consumer, progress).await?;
    if !appends.is_empty() {
        transaction
            .batch_execute(&store.sql.notify)
            .await
            .map_err(db_error)?;
    }
    transaction.commit().await.map_err(db_error)
}

/// Appends `messages` to `topic` inside a transaction the caller commits; an id the topic
/// holds is dropped.
async fn append(
    store: &PostgresStore,
    transaction: &deadpool_postgres::Transaction<'_>,
    topic: &str,
    messages: &[TopicMessage],
) -> Result<(), StoreError> {
    let statement = transaction
        .prepare_cached(&store.sql.feed.publish)
        .await
        .map_err(db_error)?;
    for message in messages {
        let attributes = serde_json::to_string(&message.attributes)
            .map_err(|e| StoreError::new(format!("postgres: attributes: {e}")))?;
        transaction
            .execute(
                &statement,
                &[
                    &topic,
                    &message.id,
                    &attributes,
                    &&message.payload[..],
                    &(crate::store::now_ms() as i64),
                ],
            )
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Removes up to `limit` messages of `topic` at or before `up_to` published before `before_ms`.
pub(super) async fn prune_topic(
    store: &PostgresStore,
    topic: &str,
    up_to: FeedOffset,
    before_ms: u64,
    limit: usize,
) -> Result<u64, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(&store.sql.feed.prune_topic)
        .await
        .map_err(db_error)?;
    let clamp = |n: u64| n.min(i64::MAX as u64) as i64;
    client
        .execute(
            &statement,
            &[
                &topic,
                &clamp(up_to.transaction),
                &clamp(up_to.position),
                &clamp(before_ms),
                &(limit as i64),
            ],
        )
        .await
        .map_err(db_error)
}

/// Up to `limit` messages of a topic after `after`.
pub(super) async fn read_topic(
    store: &PostgresStore,
    topic: &str,
    after: FeedOffset,
    limit: usize,
) -> Result<Vec<StoredMessage>, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(&store.sql.feed.read_topic)
        .await
        .map_err(db_error)?;
    let rows = client
        .query(
            &statement,
            &[
                &topic,
                &(after.transaction as i64),
                &(after.position as i64),
                &(limit as i64),
            ],
        )
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(StoredMessage {
                offset: FeedOffset {
                    transaction: row.get::<_, i64>(0) as u64,
                    position: row.get::<_, i64>(1) as u64,
                },
                message: TopicMessage {
                    id: row.get(2),
                    attributes: serde_json::from_str(row.get::<_, &str>(3)).map_err(|e| {
                        StoreError::new(format!("postgres: stored attributes: {e}"))
                    })?,
                    payload: Bytes::from(row.get::<_, Vec<u8>>(4)),
                },
            })
        })
        .collect()
}

impl FeedStore for PostgresStore {
    fn read_feed(
        &self,
        kind: FeedKind,
        type_id: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<FeedEntry>, StoreError>> {
        let (store, type_id) = (self.clone(), type_id.to_owned());
        Box::pin(async move { read(&store, kind, &type_id, after, limit).await })
    }

    /// A transaction can commit after one that began later: an entity's events can come out of
    /// order (see `eventing`).
    fn feed_in_commit_order(&self) -> bool {
        false
    }

    fn consumer_progress(
        &self,
        consumer: &str,
        entity_ids: Vec<String>,
    ) -> BoxFuture<'static, Result<ConsumerProgress, StoreError>> {
        let (store, consumer) = (self.clone(), consumer.to_owned());
        Box::pin(async move { progress(&store, &consumer, &entity_ids).await })
    }

    fn save_consumer_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, consumer) = (self.clone(), consumer.to_owned());
        Box::pin(async move { save(&store, &consumer, &progress).await })
    }

    fn publish_with_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
        appends: std::sync::Arc<[TopicAppend]>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, consumer) = (self.clone(), consumer.to_owned());
        Box::pin(async move { publish_with_progress(&store, &consumer, &progress, &appends).await })
    }

    fn publish(
        &self,
        topic: &str,
        messages: Vec<TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, topic) = (self.clone(), topic.to_owned());
        Box::pin(async move { publish(&store, &topic, &messages).await })
    }

    fn read_topic(
        &self,
        topic: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredMessage>, StoreError>> {
        let (store, topic) = (self.clone(), topic.to_owned());
        Box::pin(async move { read_topic(&store, &topic, after, limit).await })
    }

    fn prune_topic(
        &self,
        topic: &str,
        up_to: FeedOffset,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        let (store, topic) = (self.clone(), topic.to_owned());
        Box::pin(async move { prune_topic(&store, &topic, up_to, before_ms, limit).await })
    }
}
