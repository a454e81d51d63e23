//! Component hosts: how each kind of component runs a call and carries out its effect.

pub(crate) mod action;
pub(crate) mod event_sourced;
mod slots;
pub(crate) mod value_entity;

use std::sync::Arc;
use std::time::Duration;

use crate::dependencies::Dependencies;
use crate::dispatch::HandlerOutcome;
use crate::error::CallError;
use crate::status::ErrorCode;
use crate::store::{GroupCommitter, Store, WriteError};

/// What building a component may use: the user's dependencies and the runtime's services.
pub struct ComponentEnv<'a> {
    /// Values supplied with `Service::dependency`.
    pub dependencies: &'a Dependencies,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) committer: GroupCommitter,
    pub(crate) entities: EntitySettings,
}

/// How entity hosts keep entities in memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntitySettings {
    /// An entity idle this long is dropped from memory.
    pub passivation_timeout: Duration,
    /// At most this many entities of one type are kept in memory.
    pub max_active: usize,
}

/// What a command whose commit failed comes to: a conflict is run again by the dispatcher; a
/// store failure is a 503 saying to retry. Either way the entity reloads before its next command.
pub(crate) fn commit_failed(type_id: &str, entity_id: &str, error: &WriteError) -> HandlerOutcome {
    match error {
        WriteError::Conflict { .. } => {
            HandlerOutcome::conflict(commit_error(type_id, entity_id, error))
        }
        WriteError::Deleted => HandlerOutcome::error(CallError::new(
            ErrorCode::CONFLICT,
            format!("{type_id} '{entity_id}' was deleted and accepts no more events"),
        )),
        WriteError::Store(_) => HandlerOutcome::error(commit_error(type_id, entity_id, error)),
    }
}

fn commit_error(type_id: &str, entity_id: &str, error: &WriteError) -> CallError {
    match error {
        WriteError::Conflict { .. } => {
            tracing::warn!(%error, type_id, entity_id, "write conflict; the entity will be reloaded");
            CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!("{type_id} '{entity_id}' was changed concurrently; retry the command"),
            )
        }
        WriteError::Store(_) | WriteError::Deleted => {
            tracing::error!(%error, type_id, entity_id, "commit failed");
            CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!(
                    "the change to {type_id} '{entity_id}' could not be committed; retry the command"
                ),
            )
        }
    }
}
