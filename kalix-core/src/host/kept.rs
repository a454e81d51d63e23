//! Idempotency keys in the entity host (the rules are the `idempotency` module's): a command
//! whose scope holds a kept reply is answered with it and runs nothing; otherwise the reply is
//! kept with the command's write, or in a write of its own if the command changed nothing.

use super::entity::{EntityHost, EntityKind};
use crate::error::CallError;
use crate::idempotency::{CommandKey, replay_command};
use crate::outcome::HandlerOutcome;
use crate::status::ErrorCode;
use crate::store::{KeptReply, ReplyWrite, Write};

impl<K: EntityKind> EntityHost<K> {
    /// The answer kept for command `key` of entity `entity_id`, if its scope was used.
    pub(crate) async fn kept_answer(
        &self,
        entity_id: &str,
        key: &CommandKey,
    ) -> Option<HandlerOutcome> {
        match self
            .store()
            .kept_reply(K::TYPE_ID, entity_id, &key.scope)
            .await
        {
            Ok(Some(kept)) => Some(replay_command(key, kept)),
            Ok(None) => None,
            Err(error) => Some(HandlerOutcome::error(CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!("the command's idempotency key could not be looked up; retry: {error}"),
            ))),
        }
    }
}

/// Puts `kept` into `write` (the command's change), to be kept in its transaction.
pub(crate) fn keep_with(write: &mut Write, kept: KeptReply) {
    match write {
        Write::State(state) => state.kept_reply = Some(kept),
        Write::Events(append) => append.kept_reply = Some(kept),
        Write::Reply(reply) => reply.kept = kept,
        Write::Replica(write) => write.kept_reply = Some(kept),
    }
}

/// The write keeping `kept` alone, for a command of entity (`type_id`, `entity_id`) that
/// changed nothing.
pub(crate) fn keep_alone(type_id: &str, entity_id: &str, kept: KeptReply) -> Write {
    Write::Reply(ReplyWrite {
        type_id: type_id.to_owned(),
        entity_id: entity_id.to_owned(),
        kept,
    })
}
