//! Publishing a handler's reply to its topic as a CloudEvent (`#[publish(topic = "..")]`).

use bytes::Bytes;

use super::Broker;
use crate::cloud_events::{self, PayloadType};
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::status::ErrorCode;
use crate::store::TopicMessage;

/// What a published reply takes from the message its handler processed: kept from the
/// handler's metadata before it runs (three entries, not a copy of all of them).
#[derive(Debug)]
pub(crate) struct Incoming {
    id: Option<String>,
    subject: Option<String>,
    sequence: Option<String>,
}

impl Incoming {
    /// The entries of `metadata` a published reply follows from.
    pub(crate) fn of(metadata: &Metadata) -> Self {
        let entry = |name| metadata.get(name).map(str::to_owned);
        Self {
            id: entry(Metadata::CE_ID),
            subject: entry(Metadata::CE_SUBJECT),
            sequence: entry(Metadata::CE_SEQUENCE),
        }
    }
}

/// The message carrying a reply of the handler `method` of `component`, published by the service
/// `service_name` (its `ce-source`). Its subject is the one the reply's metadata sets, else the
/// one of the message the handler processed (the source entity's id). Its id follows from the
/// message processed, so publishing again after a crash is dropped as a duplicate; a reply to a
/// call gets a fresh one.
pub(crate) fn message_of(
    service_name: &str,
    (component, method): (&str, &str),
    incoming: &Incoming,
    body: &Bytes,
    reply_metadata: &Metadata,
    payload_type: PayloadType,
) -> TopicMessage {
    let id = match &incoming.id {
        Some(source) => format!("{component}::{method}:{source}"),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let subject = reply_metadata
        .get(Metadata::CE_SUBJECT)
        .or(incoming.subject.as_deref());
    // The source event's sequence number, for consumers that drop what they have seen.
    let sequence = incoming.sequence.as_deref();
    cloud_events::message(id, service_name, payload_type, body, subject, sequence)
}

/// Publishes `messages` to `topic` in order, in one write where the broker can.
pub(crate) async fn publish_all(
    broker: &dyn Broker,
    topic: &str,
    messages: Vec<TopicMessage>,
) -> Result<(), CallError> {
    broker.publish_all(topic, messages).await.map_err(|error| {
        tracing::warn!(topic, %error, "publishing failed");
        CallError::new(
            ErrorCode::SERVICE_UNAVAILABLE,
            format!("publishing to topic '{topic}' failed; retry"),
        )
    })
}
