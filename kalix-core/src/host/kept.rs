//! Idempotency keys on entity commands: a command carrying `Idempotency-Key` (a component call
//! made `with_idempotency_key`, a workflow step's, a subscriber's) keeps its reply with its
//! change, in the same transaction. The same key for the same entity again is answered with the
//! kept reply and changes nothing, whatever happened in between: a crash before the reply, a
//! step run again on another process. Exactly once, for as long as replies are kept
//! (`KALIX_IDEMPOTENCY_RETENTION_MS`).
//!
//! A command that changes nothing keeps nothing (running it again changes nothing either), nor
//! does one that forwards: its reply is another component's. A replayed reply carries the
//! reply's body, not its metadata.

use bytes::Bytes;

use super::entity::{EntityHost, EntityKind};
use crate::cloud_events::PayloadType;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::outcome::{Answer, HandlerOutcome, Outcome};
use crate::status::ErrorCode;
use crate::store::KeptReply;

/// The metadata entry (and HTTP header) carrying a command's idempotency key.
const IDEMPOTENCY_KEY: &str = Metadata::IDEMPOTENCY_KEY;

/// The longest idempotency key accepted.
pub(crate) const MAX_KEY_BYTES: usize = 255;

/// The command's idempotency key, if it has one; a key over 255 bytes is refused.
pub(crate) fn key_of(metadata: &Metadata) -> Result<Option<String>, CallError> {
    match metadata.get(IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(key) if key.is_empty() || key.len() > MAX_KEY_BYTES => Err(CallError::new(
            ErrorCode::BAD_REQUEST,
            format!("an {IDEMPOTENCY_KEY} has 1 to {MAX_KEY_BYTES} bytes"),
        )),
        Some(key) => Ok(Some(key.to_owned())),
    }
}

/// The reply to keep under `key` with the command's write: its body, for a reply.
pub(crate) fn to_keep<R: serde::Serialize>(
    key: Option<&str>,
    answer: &Answer<R>,
) -> Option<KeptReply> {
    let key = key?;
    let Answer::Reply(value, _) = answer else {
        return None;
    };
    let reply = super::to_json(value).ok()?;
    Some(KeptReply {
        key: key.to_owned(),
        reply,
    })
}

impl<K: EntityKind> EntityHost<K> {
    /// The answer kept for command `key` of entity `entity_id`, if the key was used.
    pub(crate) async fn kept_answer(&self, entity_id: &str, key: &str) -> Option<HandlerOutcome> {
        match self.store().kept_reply(K::TYPE_ID, entity_id, key).await {
            Ok(Some(reply)) => Some(replayed(reply)),
            Ok(None) => None,
            Err(error) => Some(HandlerOutcome::error(CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!("the command's idempotency key could not be looked up; retry: {error}"),
            ))),
        }
    }
}

/// A kept reply, as the command's answer again.
fn replayed(body: Bytes) -> HandlerOutcome {
    let mut metadata = Metadata::new();
    metadata.set("Idempotency-Replayed", "true".to_owned());
    HandlerOutcome::new(
        Outcome::Reply {
            body,
            metadata,
            payload_type: PayloadType::Named("kept reply"),
        },
        Vec::new(),
    )
}
