//! Retention: the background driver removing what the store keeps for a while only, in bounded
//! rounds, one process at a time (under a lease): old messages of the topics and streams kept in
//! the service's store (`KALIX_TOPIC_RETENTION_MS`), and replies kept under idempotency keys
//! (`KALIX_IDEMPOTENCY_RETENTION`: after that a key is new again). A message is removed only once it is older than the retention and every
//! consumer group of this service reading that topic from the store has processed it; readers
//! elsewhere (another service reading a stream) are not known, and keep up within the retention.
//! NATS streams keep their own (the max age and bytes they are made with).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::delivery::{Lease, pause};
use super::topic_consumers;
use crate::background::BackgroundDriver;
use crate::dispatch::Dispatcher;
use crate::registry::PublishTarget;
use crate::store::{FeedOffset, Store};

/// How often a pass runs.
const PASS: Duration = Duration::from_secs(60);
/// Messages removed per statement.
const ROUND: usize = 1_000;
/// Statements per topic per pass at most: a pass is bounded work, leaving commands the store.
const ROUNDS: usize = 10;
/// Statements removing kept replies per pass at most, and the pause before each after the first.
const KEPT_REPLY_ROUNDS: usize = 600;
const KEPT_REPLY_PAUSE: Duration = Duration::from_millis(20);

/// Removes old messages from the topics and streams in the store.
pub(crate) struct Retention {
    pub store: Arc<dyn Store>,
    pub retention: Duration,
    /// Whether the service's topics are in its store (the embedded broker); streams always are.
    pub embedded: bool,
    /// This service's name: its own streams' readers are in its store too.
    pub own: String,
    /// How long replies kept under idempotency keys stay.
    pub kept_replies: Duration,
}

impl Retention {
    pub const NAME: &'static str = "retention";
}

/// A topic in the store and the consumer names (saved positions) of this service's groups
/// reading it.
pub(crate) type RetainedTopics = BTreeMap<String, Vec<String>>;

impl Retention {
    /// The topics in the store and their local readers: what handlers publish, what they and the
    /// views read.
    fn topics(&self, dispatcher: &Dispatcher) -> RetainedTopics {
        let mut topics = RetainedTopics::new();
        for bound in dispatcher.handlers() {
            match bound.handler.publish {
                Some(PublishTarget::Topic(topic)) if self.embedded => {
                    topics.entry(topic.to_owned()).or_default();
                }
                Some(PublishTarget::Stream(id)) => {
                    topics.entry(crate::broker::stream_topic(id)).or_default();
                }
                _ => {}
            }
        }
        for consumer in topic_consumers(dispatcher) {
            match consumer.service {
                None if self.embedded => topics
                    .entry(consumer.topic.to_owned())
                    .or_default()
                    .push(consumer.name()),
                Some(service) if service == self.own => topics
                    .entry(crate::broker::stream_topic(consumer.topic))
                    .or_default()
                    .push(consumer.name()),
                _ => {}
            }
        }
        for (topic, reader) in crate::view::driver::topic_readers(&self.own, self.embedded) {
            topics.entry(topic).or_default().push(reader);
        }
        topics
    }

    /// One pass over every topic: messages older than the retention and processed by every
    /// local group, in bounded rounds.
    async fn pass(&self, topics: &RetainedTopics) {
        let before_ms = crate::store::now_ms().saturating_sub(self.retention.as_millis() as u64);
        for (topic, readers) in topics {
            let Some(up_to) = self.processed_by_all(readers).await else {
                continue;
            };
            let mut removed = 0;
            for _ in 0..ROUNDS {
                match self.store.prune_topic(topic, up_to, before_ms, ROUND).await {
                    Ok(n) => {
                        removed += n;
                        if n < ROUND as u64 {
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(topic, %error, "removing old topic messages failed; the next pass tries again");
                        break;
                    }
                }
            }
            if removed > 0 {
                tracing::debug!(
                    topic,
                    removed,
                    "removed topic messages past their retention"
                );
            }
        }
    }

    /// Removes replies kept longer than their retention, in bounded rounds.
    async fn purge_kept_replies(&self) {
        let before_ms = crate::store::now_ms().saturating_sub(self.kept_replies.as_millis() as u64);
        // Keyed commands may keep thousands of replies a second: up to 600 rounds a pass (10,000
        // a second), each after a pause that leaves commands the store.
        for round in 0..KEPT_REPLY_ROUNDS {
            if round > 0 {
                tokio::time::sleep(KEPT_REPLY_PAUSE).await;
            }
            match self.store.purge_kept_replies(before_ms, ROUND).await {
                Ok(n) if n == ROUND as u64 => continue,
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "removing old kept replies failed; the next pass tries again");
                    return;
                }
            }
        }
    }

    /// The position every reader processed (all of the topic without readers), or `None` if
    /// it cannot be read.
    async fn processed_by_all(&self, readers: &[String]) -> Option<FeedOffset> {
        let mut up_to = FeedOffset {
            transaction: i64::MAX as u64,
            position: i64::MAX as u64,
        };
        for reader in readers {
            let progress = self
                .store
                .consumer_progress(reader, Vec::new())
                .await
                .ok()?;
            up_to = up_to.min(progress.offset);
        }
        Some(up_to)
    }
}

impl BackgroundDriver for Retention {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn run(
        self: Box<Self>,
        dispatcher: Arc<Dispatcher>,
        mut stopping: watch::Receiver<bool>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let topics = self.topics(&dispatcher);
            let owner = uuid::Uuid::new_v4().as_u64_pair().0;
            let lease = Lease::new("kalix.retention".to_owned(), owner, Arc::clone(&self.store));
            loop {
                if pause(&mut stopping, PASS).await.is_err() {
                    return;
                }
                // One process at a time on a shared store.
                if matches!(lease.hold().await, Ok(true)) {
                    self.pass(&topics).await;
                    self.purge_kept_replies().await;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SqliteStore, TopicMessage};

    fn message(id: &str) -> TopicMessage {
        TopicMessage {
            id: id.to_owned(),
            attributes: Vec::new(),
            payload: bytes::Bytes::from_static(b"{}"),
        }
    }

    #[tokio::test]
    async fn a_pass_removes_what_every_local_group_processed_and_no_more() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::memory().unwrap());
        let ids = ["1", "2", "3"].map(message).to_vec();
        store.publish("orders", ids.clone()).await.unwrap();
        store.publish("audit", ids).await.unwrap();
        let read = store
            .read_topic("orders", FeedOffset::default(), 10)
            .await
            .unwrap();
        // Group a processed two messages, group b one; audit has no local reader.
        for (group, done) in [("topic:orders:a", 1), ("topic:orders:b", 0)] {
            let progress = crate::store::ConsumerProgress {
                offset: read[done].offset,
                seqs: Vec::new(),
            };
            store.save_consumer_progress(group, progress).await.unwrap();
        }
        let retention = Retention {
            store: Arc::clone(&store),
            retention: Duration::ZERO,
            embedded: true,
            own: "svc".to_owned(),
            kept_replies: Duration::from_secs(60),
        };
        let topics: RetainedTopics = [
            (
                "orders".to_owned(),
                vec!["topic:orders:a".to_owned(), "topic:orders:b".to_owned()],
            ),
            ("audit".to_owned(), Vec::new()),
            ("idle".to_owned(), vec!["topic:idle:never-read".to_owned()]),
        ]
        .into();
        // Published in this millisecond: not yet older than a retention of zero.
        tokio::time::sleep(Duration::from_millis(5)).await;
        retention.pass(&topics).await;
        let left = |topic: &'static str| {
            let store = Arc::clone(&store);
            async move {
                let messages = store
                    .read_topic(topic, FeedOffset::default(), 10)
                    .await
                    .unwrap();
                messages.len()
            }
        };
        assert_eq!(left("orders").await, 2, "only what both groups processed");
        assert_eq!(left("audit").await, 0, "no local reader: age alone");
    }

    /// Replies kept longer than the retention are purged, in rounds of `ROUND`, and a key
    /// purged is free again; a younger reply stays.
    #[tokio::test]
    async fn kept_replies_older_than_the_retention_are_purged_in_rounds() {
        use crate::store::{KeptReply, ReplyWrite, Write};
        let store: Arc<dyn Store> = Arc::new(SqliteStore::memory().unwrap());
        let reply = |key: String| {
            Write::Reply(ReplyWrite {
                type_id: "action".to_owned(),
                entity_id: String::new(),
                kept: KeptReply {
                    key,
                    fingerprint: String::new(),
                    status: 200,
                    content_type: Some("application/json".to_owned()),
                    body: bytes::Bytes::from_static(b"1"),
                },
            })
        };
        let old: Vec<Write> = (0..ROUND + 5).map(|i| reply(format!("old{i}"))).collect();
        store.commit(old).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let retention = Retention {
            store: Arc::clone(&store),
            retention: Duration::from_secs(60),
            embedded: true,
            own: "svc".to_owned(),
            kept_replies: Duration::from_millis(20),
        };
        store.commit(vec![reply("young".to_owned())]).await.unwrap();
        retention.purge_kept_replies().await;
        let kept = |key: &'static str| store.kept_reply("action", "", key);
        assert_eq!(kept("old0").await.unwrap(), None);
        assert_eq!(kept("old1004").await.unwrap(), None, "a second round ran");
        assert!(kept("young").await.unwrap().is_some());
        // Free again: a new reply under the key is kept.
        assert_eq!(
            store.commit(vec![reply("old0".to_owned())]).await.unwrap(),
            vec![Ok(0)]
        );
    }
}
