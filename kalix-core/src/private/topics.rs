//! What generated code of topic subscriptions reaches: a message's body read as a handler's
//! parameter.

/// Reads a topic message's body as a `T` (see `TopicSubscriptionDescriptor::decode`).
pub fn decode_message<T: serde::de::DeserializeOwned>(
    ce_type: &str,
    body: &[u8],
    as_variant: bool,
) -> Option<serde_json::Value> {
    crate::cloud_events::decode::<T>(ce_type, body, as_variant)
}
