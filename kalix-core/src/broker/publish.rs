//! Publishing a handler's reply to its topic as a CloudEvent (`#[publish(topic = "..")]`).

use bytes::Bytes;

use super::Broker;
use crate::cloud_events::{self, PayloadType};
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::status::ErrorCode;
use crate::store::TopicMessage;

/// The message carrying a reply of the handler `target` (`component::method`), published by the service `service_name` (its
/// `ce-source`). Its subject is the one the reply's metadata sets, else the one of the message
/// the handler processed (the source entity's id). Its id follows from the message processed,
/// so publishing again after a crash is dropped as a duplicate; a reply to a call gets a fresh
/// one.
pub(crate) fn message_of(
    service_name: &str,
    target: &str,
    incoming: &Metadata,
    body: &Bytes,
    reply_metadata: &Metadata,
    payload_type: PayloadType,
) -> TopicMessage {
    let id = match incoming.get(Metadata::CE_ID) {
        Some(source) => format!("{target}:{source}"),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let subject = reply_metadata
        .get(Metadata::CE_SUBJECT)
        .or_else(|| incoming.get(Metadata::CE_SUBJECT));
    // The source event's sequence number, for consumers that drop what they have seen.
    let sequence = incoming.get(Metadata::CE_SEQUENCE);
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
