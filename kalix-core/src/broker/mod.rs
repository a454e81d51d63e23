//! Where topics live: the [`Broker`] a service publishes to and consumes from. The embedded
//! broker (the default) keeps topics in the service's own store.
//!
//! Below dispatch: the dispatcher publishes a `#[publish]` reply here ([`publish`]), and the
//! consumers of `eventing/` read through a [`TopicReader`]. Also here: the NATS JetStream broker
//! (`nats.rs`), service-to-service streams served and read over HTTP (`stream.rs`), and the
//! service's topics as a test sees them (`topics.rs`).

mod nats;
mod publish;
mod stream;
mod topics;

pub(crate) use nats::NatsBroker;
pub(crate) use publish::{Incoming, message_of, publish_all};
pub(crate) use stream::{
    MAX_PAGE, PAGE_WAIT, STREAMS_PATH, ServiceUrls, StreamPage, StreamSource, page, parse_offset,
    stream_topic,
};
pub use topics::{TopicMessages, Topics};

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::store::{ConsumerProgress, FeedOffset, Store, StoreError, StoredMessage, TopicMessage};

/// A place topics live.
pub(crate) trait Broker: Send + Sync + 'static {
    /// Publishes `message` to `topic`; publishing one id again changes nothing.
    fn publish(
        &self,
        topic: &str,
        message: TopicMessage,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Publishes `messages` to `topic`, in order; by default one at a time.
    fn publish_all(
        &self,
        topic: &str,
        messages: Vec<TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let each: Vec<_> = messages
            .into_iter()
            .map(|message| self.publish(topic, message))
            .collect();
        Box::pin(async move {
            for published in each {
                published.await?;
            }
            Ok(())
        })
    }

    /// A reader of `topic` for the consumer group `group`, starting after what the group
    /// processed last.
    fn reader(&self, topic: &str, group: &str) -> Box<dyn TopicReader>;

    /// Whether its topics live in the service's own store, so a consumer may append to them in
    /// the transaction that saves its progress ([`crate::store::FeedStore::publish_with_progress`]).
    fn in_store(&self) -> bool {
        false
    }

    /// Tells its readers that messages were appended to its topics by such a transaction.
    fn appended(&self) {}
}

/// Reads one topic for one consumer group.
pub(crate) trait TopicReader: Send {
    /// Up to `limit` messages after the last one read; empty when there are none for now.
    fn read(&mut self, limit: usize) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>>;

    /// Records that the group processed every message up to `offset`, durably.
    fn processed(&mut self, offset: FeedOffset) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Forgets where it is: the next read starts after what the group processed last (after
    /// another process consumed meanwhile).
    fn rewind(&mut self);

    /// Whether a read waits for messages itself (a broker's or producer's long poll): then a
    /// consumer reads again at once after an empty read instead of idling.
    fn long_polls(&self) -> bool {
        false
    }
}

/// Topics in the service's store: messages appended in order, each consumer group's offset
/// saved beside them.
pub(crate) struct EmbeddedBroker {
    pub store: Arc<dyn Store>,
    /// Notified after each publish, so the topics' readers look at once.
    pub news: Arc<tokio::sync::Notify>,
}

impl Broker for EmbeddedBroker {
    fn publish(
        &self,
        topic: &str,
        message: TopicMessage,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let published = self.store.publish(topic, vec![message]);
        let news = Arc::clone(&self.news);
        Box::pin(async move {
            published.await?;
            news.notify_waiters();
            Ok(())
        })
    }

    fn publish_all(
        &self,
        topic: &str,
        messages: Vec<TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let published = self.store.publish(topic, messages);
        let news = Arc::clone(&self.news);
        Box::pin(async move {
            published.await?;
            news.notify_waiters();
            Ok(())
        })
    }

    fn reader(&self, topic: &str, group: &str) -> Box<dyn TopicReader> {
        store_reader(&self.store, topic, format!("topic:{topic}:{group}"))
    }

    fn in_store(&self) -> bool {
        true
    }

    fn appended(&self) {
        self.news.notify_waiters();
    }
}

/// A reader of `topic` in `store` itself, keeping its position under `consumer`.
pub(crate) fn store_reader(
    store: &Arc<dyn Store>,
    topic: &str,
    consumer: String,
) -> Box<dyn TopicReader> {
    Box::new(EmbeddedReader {
        store: Arc::clone(store),
        topic: topic.to_owned(),
        position: SavedPosition::new(Arc::clone(store), consumer),
    })
}

/// Where a consumer group is in what it reads: kept in the service's store under the group's
/// durable name, and followed in memory between saves. Every reader keeps its group's position
/// this way, so the position moves only with the process holding the group's lease.
pub(crate) struct SavedPosition {
    store: Arc<dyn Store>,
    consumer: String,
    /// Where the last read ended; `None` until the saved position is read.
    current: Option<FeedOffset>,
}

impl SavedPosition {
    /// The consumer name the position is kept under.
    pub(crate) fn consumer(&self) -> &str {
        &self.consumer
    }

    pub(crate) fn new(store: Arc<dyn Store>, consumer: String) -> Self {
        Self {
            store,
            consumer,
            current: None,
        }
    }

    /// Where to read from: after the last read, or after the last save.
    pub(crate) async fn current(&mut self) -> Result<FeedOffset, StoreError> {
        let current = match self.current {
            Some(current) => current,
            None => {
                self.store
                    .consumer_progress(&self.consumer, Vec::new())
                    .await?
                    .offset
            }
        };
        self.current = Some(current);
        Ok(current)
    }

    /// A read ended at `offset`.
    pub(crate) fn advance(&mut self, offset: FeedOffset) {
        self.current = Some(offset);
    }

    /// Saves `offset` as processed.
    pub(crate) fn save(&self, offset: FeedOffset) -> BoxFuture<'static, Result<(), StoreError>> {
        let progress = ConsumerProgress {
            offset,
            seqs: Vec::new(),
        };
        self.store.save_consumer_progress(&self.consumer, progress)
    }

    /// Forgets the position in memory: the next read starts after the last save.
    pub(crate) fn forget(&mut self) {
        self.current = None;
    }
}

struct EmbeddedReader {
    store: Arc<dyn Store>,
    topic: String,
    position: SavedPosition,
}

impl TopicReader for EmbeddedReader {
    fn read(&mut self, limit: usize) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>> {
        Box::pin(async move {
            let after = self.position.current().await?;
            let messages = self.store.read_topic(&self.topic, after, limit).await?;
            if let Some(last) = messages.last() {
                self.position.advance(last.offset);
            }
            Ok(messages)
        })
    }

    fn processed(&mut self, offset: FeedOffset) -> BoxFuture<'_, Result<(), StoreError>> {
        self.position.save(offset)
    }

    fn rewind(&mut self) {
        self.position.forget();
    }
}
