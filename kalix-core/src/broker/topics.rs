//! The service's topics seen from outside its components: what a test (or an embedding program)
//! uses to publish messages to the service's subscribers and to read what it publishes.

use std::sync::Arc;

use serde::Serialize;

use super::{Broker, TopicReader};
use crate::cloud_events::{self, PayloadType};
use crate::metadata::Metadata;
use crate::store::{FeedOffset, StoreError, StoredMessage, TopicMessage};

/// The topics of a running service, on its broker. Get it from
/// [`RunningService::topics`](crate::RunningService::topics).
#[derive(Clone)]
pub struct Topics {
    broker: Arc<dyn Broker>,
}

impl std::fmt::Debug for Topics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topics").finish_non_exhaustive()
    }
}

impl Topics {
    pub(crate) fn new(broker: Arc<dyn Broker>) -> Self {
        Self { broker }
    }

    /// Publishes `message` to `topic`, as a subscriber of the service receives it.
    pub async fn publish(&self, topic: &str, message: TopicMessage) -> Result<(), StoreError> {
        self.broker.publish(topic, message).await
    }

    /// A reader of `topic` in the consumer group `group`: a new group reads from the topic's
    /// start.
    pub fn reader(&self, topic: &str, group: &str) -> TopicMessages {
        TopicMessages {
            reader: self.broker.reader(topic, group),
        }
    }

    /// The CloudEvent carrying `value`, as the service publishes one: `ce-type` is the serde
    /// tag of an enum variant (the body is the variant's content) or the type's name, with
    /// `ce-subject` if given, a fresh `ce-id` and `Content-Type: application/json`; bytes go as
    /// they are, `application/octet-stream`, without `ce-type`.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// enum CounterEvent { ValueIncreased { value: i64 } }
    ///
    /// let message = kalix_core::Topics::message_of(&CounterEvent::ValueIncreased { value: 3 }, Some("c1"));
    /// let attribute = |name: &str| message.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    /// assert_eq!(attribute("ce-type"), Some("ValueIncreased"));
    /// assert_eq!(attribute("ce-subject"), Some("c1"));
    /// assert_eq!(&message.payload[..], br#"{"value":3}"#);
    /// ```
    pub fn message_of<T: Serialize>(value: &T, subject: Option<&str>) -> TopicMessage {
        let json = bytes::Bytes::from(serde_json::to_vec(value).unwrap_or_default());
        let id = uuid::Uuid::new_v4().to_string();
        cloud_events::message(
            id,
            "kalix-testkit",
            PayloadType::of(value),
            &json,
            subject,
            None,
        )
    }
}

impl Topics {
    /// The body of `message` as a `T`: read directly, or as the variant its `ce-type` names of
    /// the enum `T`; `None` if it is neither.
    pub fn decode<T: serde::de::DeserializeOwned>(message: &TopicMessage) -> Option<T> {
        let ce_type = cloud_events::attribute(message, Metadata::CE_TYPE).unwrap_or("");
        let body = match cloud_events::is_raw(message) {
            true => bytes::Bytes::from(cloud_events::bytes_as_json(&message.payload)),
            false => message.payload.clone(),
        };
        let value = cloud_events::decode::<T>(ce_type, &body, false)
            .or_else(|| cloud_events::decode::<T>(ce_type, &body, true))?;
        serde_json::from_value(value).ok()
    }
}

/// Reads one topic in one consumer group (see [`Topics::reader`]).
pub struct TopicMessages {
    reader: Box<dyn TopicReader>,
}

impl TopicMessages {
    /// Up to `limit` messages after the last one read; empty when there are none for now.
    pub async fn read(&mut self, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        self.reader.read(limit).await
    }

    /// Records that the group processed every message up to `offset`.
    pub async fn processed(&mut self, offset: FeedOffset) -> Result<(), StoreError> {
        self.reader.processed(offset).await
    }
}
