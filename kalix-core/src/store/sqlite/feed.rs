//! The change feed in SQLite, and consumer progress.
//!
//! One writer, so positions are commit order and every committed entry is final: a reader needs
//! no high-water mark. Events are the journal's log (`event_log`, by position); state changes
//! are the state rows, each placed at its latest change by `entity_state.position`, which a write
//! sets one past its type's greatest.

use super::SqliteStore;
use crate::store::FeedStore;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension, params};

use super::sqlite_error;
use crate::store::{
    ConsumerProgress, FeedEntry, FeedKind, FeedOffset, StoreError, StoredMessage, TopicAppend,
    TopicMessage,
};

/// The feed's indexes and the consumers' tables.
const SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS entity_state_feed ON entity_state (type_id, position);
CREATE INDEX IF NOT EXISTS event_log_feed ON event_log (type_id, position);
CREATE TABLE IF NOT EXISTS consumer_offset (
    consumer TEXT    PRIMARY KEY,
    position INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topic_message (
    position   INTEGER PRIMARY KEY,
    topic      TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    attributes TEXT    NOT NULL,
    payload    BLOB    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS topic_message_id ON topic_message (topic, message_id);
CREATE INDEX IF NOT EXISTS topic_message_feed ON topic_message (topic, position);
CREATE TABLE IF NOT EXISTS consumer_seq (
    consumer  TEXT    NOT NULL,
    entity_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (consumer, entity_id)
) WITHOUT ROWID;
";

/// Adds the feed position to state tables made before it existed (existing rows enter the feed
/// in (type id, entity id) order), then the indexes and consumer tables.
pub(super) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let has_position: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('entity_state') WHERE name = 'position')",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite_error)?;
    if !has_position {
        connection
            .execute_batch(
                "ALTER TABLE entity_state ADD COLUMN position INTEGER;
                 UPDATE entity_state SET position = numbered.n
                     FROM (SELECT type_id, entity_id,
                                  row_number() OVER (ORDER BY type_id, entity_id) AS n
                           FROM entity_state) AS numbered
                     WHERE entity_state.type_id = numbered.type_id
                       AND entity_state.entity_id = numbered.entity_id;",
            )
            .map_err(sqlite_error)?;
    }
    connection.execute_batch(SCHEMA).map_err(sqlite_error)?;
    // When each topic message was published, for retention (messages from before it: 0).
    let has_published: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('topic_message') WHERE name = 'published_ms')",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite_error)?;
    if !has_published {
        connection
            .execute_batch(
                "ALTER TABLE topic_message ADD COLUMN published_ms INTEGER NOT NULL DEFAULT 0",
            )
            .map_err(sqlite_error)?;
    }
    Ok(())
}

/// Removes up to `limit` messages of `topic` at or before `up_to` published before
/// `before_ms`, oldest first; how many it removed.
pub(super) fn prune_topic(
    connection: &mut Connection,
    topic: &str,
    up_to: FeedOffset,
    before_ms: u64,
    limit: usize,
) -> Result<u64, StoreError> {
    let removed = connection
        .prepare_cached(
            "DELETE FROM topic_message WHERE position IN ( \
                 SELECT position FROM topic_message \
                 WHERE topic = ?1 AND position <= ?2 AND published_ms < ?3 \
                 ORDER BY position LIMIT ?4)",
        )
        .map_err(sqlite_error)?
        .execute(params![
            topic,
            up_to.position.min(i64::MAX as u64) as i64,
            before_ms.min(i64::MAX as u64) as i64,
            limit as i64
        ])
        .map_err(sqlite_error)?;
    Ok(removed as u64)
}

/// Up to `limit` entries of the type's feed after `after`.
pub(super) fn read(
    connection: &Connection,
    kind: FeedKind,
    type_id: &str,
    after: FeedOffset,
    limit: usize,
) -> Result<Vec<FeedEntry>, StoreError> {
    let sql = match kind {
        FeedKind::StateChanges => {
            "SELECT position, entity_id, version, NULL, payload, trace_parent FROM entity_state \
             WHERE type_id = ?1 AND position > ?2 ORDER BY position LIMIT ?3"
        }
        FeedKind::Events => {
            "SELECT position, entity_id, seq, type_name, payload, trace_parent FROM event_log \
             WHERE type_id = ?1 AND position > ?2 ORDER BY position LIMIT ?3"
        }
    };
    let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
    let rows = statement
        .query_map(
            params![type_id, after.position as i64, limit as i64],
            |row| {
                Ok(FeedEntry {
                    offset: FeedOffset {
                        transaction: 0,
                        position: row.get::<_, i64>(0)? as u64,
                    },
                    entity_id: row.get(1)?,
                    seq: row.get::<_, i64>(2)? as u64,
                    type_name: row.get(3)?,
                    payload: row.get::<_, Option<Vec<u8>>>(4)?.map(Bytes::from),
                    trace_parent: row.get(5)?,
                })
            },
        )
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// The consumer's saved progress, with its sequence numbers for `entity_ids`.
pub(super) fn progress(
    connection: &Connection,
    consumer: &str,
    entity_ids: &[String],
) -> Result<ConsumerProgress, StoreError> {
    let offset: Option<(i64, i64)> = connection
        .prepare_cached("SELECT tx, position FROM consumer_offset WHERE consumer = ?1")
        .map_err(sqlite_error)?
        .query_row([consumer], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(sqlite_error)?;
    let (transaction, position) = offset.unwrap_or((0, 0));
    let mut seq = connection
        .prepare_cached("SELECT seq FROM consumer_seq WHERE consumer = ?1 AND entity_id = ?2")
        .map_err(sqlite_error)?;
    let mut seqs = Vec::new();
    for entity_id in entity_ids {
        let found: Option<i64> = seq
            .query_row(params![consumer, entity_id], |row| row.get(0))
            .optional()
            .map_err(sqlite_error)?;
        if let Some(found) = found {
            seqs.push((entity_id.clone(), found as u64));
        }
    }
    Ok(ConsumerProgress {
        // A topic reader keeps the stream's identity here (the NATS stream's creation time),
        // so a stream made again while the service was down is read from its start.
        offset: FeedOffset {
            transaction: transaction as u64,
            position: position as u64,
        },
        seqs,
    })
}

/// Saves the consumer's offset and sequence numbers in one transaction.
pub(super) fn save(
    connection: &mut Connection,
    consumer: &str,
    progress: &ConsumerProgress,
) -> Result<(), StoreError> {
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    save_in(&transaction, consumer, progress)?;
    transaction.commit().map_err(sqlite_error)
}

/// Saves the consumer's offset and sequence numbers inside a transaction the caller commits.
pub(super) fn save_in(
    transaction: &Connection,
    consumer: &str,
    progress: &ConsumerProgress,
) -> Result<(), StoreError> {
    transaction
        .prepare_cached(
            "INSERT INTO consumer_offset (consumer, tx, position) VALUES (?1, ?2, ?3) \
             ON CONFLICT (consumer) DO UPDATE SET tx = excluded.tx, position = excluded.position",
        )
        .map_err(sqlite_error)?
        .execute(params![
            consumer,
            progress.offset.transaction as i64,
            progress.offset.position as i64
        ])
        .map_err(sqlite_error)?;
    {
        let mut upsert = transaction
            .prepare_cached(
                "INSERT INTO consumer_seq (consumer, entity_id, seq) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (consumer, entity_id) DO UPDATE SET seq = excluded.seq",
            )
            .map_err(sqlite_error)?;
        for (entity_id, seq) in &progress.seqs {
            upsert
                .execute(params![consumer, entity_id, *seq as i64])
                .map_err(sqlite_error)?;
        }
    }
    Ok(())
}

/// Keeps the ids of only the messages [`publish`] appends unique: those a consumer appends with
/// its progress are kept once by that ([`publish_with_progress`]), and an index entry per message
/// (ids in no order, so a random page of the index each) was most of what appending them cost.
/// A consumer of this feed (in commit order) no longer keeps sequence numbers: they go.
pub(super) fn publish_by_id(connection: &mut Connection) -> Result<(), StoreError> {
    connection
        .execute_batch(
            "ALTER TABLE topic_message ADD COLUMN by_id INTEGER NOT NULL DEFAULT 1;
             DROP INDEX topic_message_id;
             CREATE UNIQUE INDEX topic_message_id ON topic_message (topic, message_id) \
                 WHERE by_id = 1;
             DELETE FROM consumer_seq;",
        )
        .map_err(sqlite_error)
}

/// Appends messages to a topic in one transaction; an id the topic holds is dropped.
pub(super) fn publish(
    connection: &mut Connection,
    topic: &str,
    messages: &[TopicMessage],
) -> Result<(), StoreError> {
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    append(
        &transaction,
        "INSERT INTO topic_message (topic, message_id, attributes, payload, published_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        topic,
        messages,
        |_| Ok(false),
    )?;
    transaction.commit().map_err(sqlite_error)
}

/// Appends a consumer's messages and saves its progress in one transaction. Their ids enter no
/// index; one [`publish`] appended (a consumer's retried delivery) is not appended again.
pub(super) fn publish_with_progress(
    connection: &mut Connection,
    consumer: &str,
    progress: &ConsumerProgress,
    appends: &[TopicAppend],
) -> Result<(), StoreError> {
    let transaction = connection.savepoint().map_err(sqlite_error)?;
    // A probe, then a plain insert: an `INSERT .. SELECT .. WHERE NOT EXISTS` reading the table
    // it writes makes SQLite build and drop a temporary table on every run.
    let mut published = transaction
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM topic_message \
             WHERE topic = ?1 AND message_id = ?2 AND by_id = 1)",
        )
        .map_err(sqlite_error)?;
    for TopicAppend { topic, messages } in appends {
        append(
            &transaction,
            "INSERT INTO topic_message (topic, message_id, attributes, payload, published_ms, by_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, 0)",
            topic,
            messages,
            |message| {
                published
                    .query_row(params![topic, message.id], |row| row.get::<_, bool>(0))
                    .map_err(sqlite_error)
            },
        )?;
    }
    drop(published);
    save_in(&transaction, consumer, progress)?;
    transaction.commit().map_err(sqlite_error)
}

/// Runs `insert` (parameters: topic, id, attributes, payload, time) for each of `messages` but
/// those `skip` says are there already.
fn append(
    transaction: &Connection,
    insert: &str,
    topic: &str,
    messages: &[TopicMessage],
    mut skip: impl FnMut(&TopicMessage) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let mut insert = transaction.prepare_cached(insert).map_err(sqlite_error)?;
    let now_ms = super::super::now_ms() as i64;
    // One buffer for every message's attributes, not a string grown for each.
    let mut attributes = Vec::with_capacity(256);
    for message in messages {
        if skip(message)? {
            continue;
        }
        attributes.clear();
        serde_json::to_writer(&mut attributes, &message.attributes)
            .map_err(|e| StoreError::new(format!("sqlite: attributes: {e}")))?;
        let attributes = std::str::from_utf8(&attributes).expect("serde_json writes UTF-8");
        insert
            .execute(params![
                topic,
                message.id,
                attributes,
                &message.payload[..],
                now_ms
            ])
            .map_err(sqlite_error)?;
    }
    Ok(())
}

/// Up to `limit` messages of a topic after `after`.
pub(super) fn read_topic(
    connection: &Connection,
    topic: &str,
    after: FeedOffset,
    limit: usize,
) -> Result<Vec<StoredMessage>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT position, message_id, attributes, payload FROM topic_message \
             WHERE topic = ?1 AND position > ?2 ORDER BY position LIMIT ?3",
        )
        .map_err(sqlite_error)?;
    let rows = statement
        .query_map(params![topic, after.position as i64, limit as i64], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Vec<u8>>(3)?,
            ))
        })
        .map_err(sqlite_error)?;
    rows.map(|row| {
        let (position, id, attributes, payload) = row.map_err(sqlite_error)?;
        Ok(StoredMessage {
            offset: FeedOffset {
                transaction: 0,
                position: position as u64,
            },
            message: TopicMessage {
                id,
                attributes: serde_json::from_str(&attributes)
                    .map_err(|e| StoreError::new(format!("sqlite: stored attributes: {e}")))?,
                payload: Bytes::from(payload),
            },
        })
    })
    .collect()
}

impl FeedStore for SqliteStore {
    fn read_feed(
        &self,
        kind: FeedKind,
        type_id: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<FeedEntry>, StoreError>> {
        self.read(type_id, "", move |connection, type_id, _| {
            read(connection, kind, type_id, after, limit)
        })
    }

    /// One writer: positions are commit order (see the module's documentation).
    fn feed_in_commit_order(&self) -> bool {
        true
    }

    fn consumer_progress(
        &self,
        consumer: &str,
        entity_ids: Vec<String>,
    ) -> BoxFuture<'static, Result<ConsumerProgress, StoreError>> {
        self.read(consumer, "", move |connection, consumer, _| {
            progress(connection, consumer, &entity_ids)
        })
    }

    fn save_consumer_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let consumer = consumer.to_owned();
        self.write_outside_batches(move |connection| save(connection, &consumer, &progress))
    }

    fn publish_with_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
        appends: std::sync::Arc<[TopicAppend]>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let consumer = consumer.to_owned();
        self.write_outside_batches(move |connection| {
            publish_with_progress(connection, &consumer, &progress, &appends)
        })
    }

    fn publish(
        &self,
        topic: &str,
        messages: Vec<TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let topic = topic.to_owned();
        self.write_outside_batches(move |connection| publish(connection, &topic, &messages))
    }

    fn read_topic(
        &self,
        topic: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredMessage>, StoreError>> {
        self.read(topic, "", move |connection, topic, _| {
            read_topic(connection, topic, after, limit)
        })
    }

    fn prune_topic(
        &self,
        topic: &str,
        up_to: FeedOffset,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        let topic = topic.to_owned();
        self.write_outside_batches(move |connection| {
            prune_topic(connection, &topic, up_to, before_ms, limit)
        })
    }
}
