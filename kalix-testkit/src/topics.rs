//! Topics in an integration test: publish messages the service's subscribers receive, and
//! expect the messages it publishes (as Akka's eventing testkit does).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use kalix_core::Topics;
use kalix_core::store::{StoredMessage, TopicMessage};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long `expect_*` waits for a message.
const EXPECT_WITHIN: Duration = Duration::from_secs(10);
/// How long `expect_none` watches for a message that should not come.
const NONE_WITHIN: Duration = Duration::from_millis(500);

/// Messages a test publishes to one topic: [`TestKit::incoming`](crate::TestKit::incoming).
pub struct IncomingMessages {
    topics: Topics,
    topic: String,
}

impl IncomingMessages {
    pub(crate) fn new(topics: Topics, topic: &str) -> Self {
        Self {
            topics,
            topic: topic.to_owned(),
        }
    }

    /// Publishes `message` about the entity `subject` as a CloudEvent (`ce-type` its type's
    /// name, or its variant's tag). Panics if the broker refuses it.
    pub async fn publish<T: Serialize>(&self, message: &T, subject: &str) {
        self.publish_message(Topics::message_of(message, Some(subject)))
            .await;
    }

    /// Publishes a message as it is: attributes and body of the test's choosing (a type no
    /// handler takes, a body that does not parse). Panics if the broker refuses it.
    pub async fn publish_message(&self, message: TopicMessage) {
        self.topics
            .publish(&self.topic, message)
            .await
            .unwrap_or_else(|error| panic!("publishing to {} failed: {error}", self.topic));
    }
}

/// A message the service published, with its body read as a `T`.
#[derive(Debug)]
pub struct ReceivedMessage<T> {
    /// The body.
    pub payload: T,
    /// Its attributes (`ce-type`, `ce-subject`, `Content-Type`, ...).
    pub attributes: Vec<(String, String)>,
}

impl<T> ReceivedMessage<T> {
    /// An attribute, by a name compared without case.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Its `ce-subject`: the entity it is about.
    pub fn subject(&self) -> Option<&str> {
        self.attribute("ce-subject")
    }

    /// Its `ce-type`.
    pub fn ce_type(&self) -> Option<&str> {
        self.attribute("ce-type")
    }
}

/// The messages the service publishes to one topic, from the start of the test:
/// [`TestKit::outgoing`](crate::TestKit::outgoing).
pub struct OutgoingMessages {
    topic: String,
    reader: kalix_core::TopicMessages,
    buffered: VecDeque<StoredMessage>,
}

impl OutgoingMessages {
    pub(crate) fn new(topics: &Topics, topic: &str) -> Self {
        let group = format!("kalix-testkit-{}", uuid::Uuid::new_v4());
        Self {
            topic: topic.to_owned(),
            reader: topics.reader(topic, &group),
            buffered: VecDeque::new(),
        }
    }

    /// The next message, waiting up to `within`.
    async fn next(&mut self, within: Duration) -> Option<StoredMessage> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(message) = self.buffered.pop_front() {
                return Some(message);
            }
            let read = self
                .reader
                .read(256)
                .await
                .unwrap_or_else(|error| panic!("reading {} failed: {error}", self.topic));
            self.buffered.extend(read);
            if self.buffered.is_empty() {
                if Instant::now() > deadline {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// The next message, read as a `T`. Panics if none comes within 10 s or it is not a `T`.
    pub async fn expect_one<T: DeserializeOwned>(&mut self) -> ReceivedMessage<T> {
        let Some(stored) = self.next(EXPECT_WITHIN).await else {
            panic!("no message on {} within {EXPECT_WITHIN:?}", self.topic);
        };
        let message = stored.message;
        let Some(payload) = Topics::decode::<T>(&message) else {
            panic!(
                "the message on {} is not a {}: {:?} {}",
                self.topic,
                std::any::type_name::<T>(),
                message.attributes,
                String::from_utf8_lossy(&message.payload)
            );
        };
        ReceivedMessage {
            payload,
            attributes: message.attributes,
        }
    }

    /// The next message as it is: its body unread. Panics if none comes within 10 s.
    pub async fn expect_raw(&mut self) -> ReceivedMessage<bytes::Bytes> {
        let Some(stored) = self.next(EXPECT_WITHIN).await else {
            panic!("no message on {} within {EXPECT_WITHIN:?}", self.topic);
        };
        ReceivedMessage {
            payload: stored.message.payload,
            attributes: stored.message.attributes,
        }
    }

    /// The next `n` messages, each read as a `T`.
    pub async fn expect_n<T: DeserializeOwned>(&mut self, n: usize) -> Vec<ReceivedMessage<T>> {
        let mut messages = Vec::with_capacity(n);
        for _ in 0..n {
            messages.push(self.expect_one().await);
        }
        messages
    }

    /// Panics if a message comes within half a second.
    pub async fn expect_none(&mut self) {
        if let Some(stored) = self.next(NONE_WITHIN).await {
            panic!(
                "expected no message on {}, got {:?} {}",
                self.topic,
                stored.message.attributes,
                String::from_utf8_lossy(&stored.message.payload)
            );
        }
    }

    /// Drops every message published so far; returns how many.
    pub async fn clear(&mut self) -> usize {
        let mut dropped = 0;
        while self.next(Duration::ZERO).await.is_some() {
            dropped += 1;
        }
        dropped
    }
}
