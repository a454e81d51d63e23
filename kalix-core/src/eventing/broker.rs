//! Where topics live: the [`Broker`] a service publishes to and consumes from. The embedded
//! broker (the default) keeps topics in the service's own store.

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

    /// A reader of `topic` for the consumer group `group`, starting after what the group
    /// processed last.
    fn reader(&self, topic: &str, group: &str) -> Box<dyn TopicReader>;
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
}

/// Topics in the service's store: messages appended in order, each consumer group's offset
/// saved beside them.
pub(crate) struct EmbeddedBroker {
    pub store: Arc<dyn Store>,
}

impl Broker for EmbeddedBroker {
    fn publish(
        &self,
        topic: &str,
        message: TopicMessage,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.store.publish(topic, vec![message])
    }

    fn reader(&self, topic: &str, group: &str) -> Box<dyn TopicReader> {
        Box::new(EmbeddedReader {
            store: Arc::clone(&self.store),
            topic: topic.to_owned(),
            consumer: format!("topic:{topic}:{group}"),
            offset: None,
        })
    }
}

struct EmbeddedReader {
    store: Arc<dyn Store>,
    topic: String,
    consumer: String,
    /// Where the last read ended; `None` until the saved offset is read.
    offset: Option<FeedOffset>,
}

impl TopicReader for EmbeddedReader {
    fn read(&mut self, limit: usize) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>> {
        Box::pin(async move {
            let after = match self.offset {
                Some(offset) => offset,
                None => {
                    self.store
                        .consumer_progress(&self.consumer, Vec::new())
                        .await?
                        .offset
                }
            };
            self.offset = Some(after);
            let messages = self.store.read_topic(&self.topic, after, limit).await?;
            if let Some(last) = messages.last() {
                self.offset = Some(last.offset);
            }
            Ok(messages)
        })
    }

    fn processed(&mut self, offset: FeedOffset) -> BoxFuture<'_, Result<(), StoreError>> {
        let progress = ConsumerProgress {
            offset,
            seqs: Vec::new(),
        };
        self.store.save_consumer_progress(&self.consumer, progress)
    }

    fn rewind(&mut self) {
        self.offset = None;
    }
}
