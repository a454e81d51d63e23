//! Component hosts: how each kind of component runs a call and carries out its effect.

pub(crate) mod action;
mod entity_id;
pub(crate) mod event_sourced;
mod slots;
pub(crate) mod value_entity;

use std::time::Duration;

use crate::error::CallError;
use crate::log_limit::LogLimit;
use crate::outcome::HandlerOutcome;
use crate::status::ErrorCode;
use crate::store::WriteError;

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
        // Retrying cannot help a write the database refuses for what it holds.
        WriteError::Store(refused) if refused.is_rejected_write() => {
            HandlerOutcome::error(CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!(
                    "the database refused the change to {type_id} '{entity_id}'; the service log has the details"
                ),
            ))
        }
        WriteError::Store(_) => HandlerOutcome::error(commit_error(type_id, entity_id, error)),
    }
}

static COMMIT_FAILED: LogLimit = LogLimit::per(Duration::from_secs(10));

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
            if let Some(left_out) = COMMIT_FAILED.admit() {
                tracing::error!(%error, type_id, entity_id, left_out, "commit failed");
            }
            CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!(
                    "the change to {type_id} '{entity_id}' could not be committed; retry the command"
                ),
            )
        }
    }
}

/// The error for stored data that does not deserialize: a 500 that names what could not be read
/// and a correlation id, while serde's message (which quotes fragments of the stored value)
/// goes only to the log.
pub(crate) fn unreadable(
    type_id: &str,
    entity_id: &str,
    what: &str,
    error: &serde_json::Error,
) -> CallError {
    let correlation_id = uuid::Uuid::new_v4();
    tracing::error!(%correlation_id, %error, type_id, entity_id, what, "stored data cannot be read");
    CallError::new(
        ErrorCode::INTERNAL_SERVER_ERROR,
        format!(
            "{what} of {type_id} '{entity_id}' cannot be read [{correlation_id}]; the service log has the details"
        ),
    )
}

static LOAD_FAILED: LogLimit = LogLimit::per(Duration::from_secs(10));

/// The error for a load the store could not serve: a 503, logged at most once per interval.
pub(crate) fn load_failed(
    type_id: &str,
    entity_id: &str,
    what: &str,
    error: &crate::store::StoreError,
) -> CallError {
    if let Some(left_out) = LOAD_FAILED.admit() {
        tracing::error!(%error, type_id, entity_id, left_out, "loading an entity failed");
    }
    CallError::new(
        ErrorCode::SERVICE_UNAVAILABLE,
        format!("{what} of {type_id} '{entity_id}' could not be loaded; retry the command"),
    )
}

/// A read on a shared store found the entity moved by another process: the slot reloads and the
/// dispatcher runs the command again.
pub(crate) fn moved_elsewhere<L>(
    slot: &slots::Slot<L>,
    type_id: &str,
    entity_id: &str,
) -> HandlerOutcome {
    slot.stale.store(true, std::sync::atomic::Ordering::Release);
    HandlerOutcome::conflict(CallError::new(
        ErrorCode::SERVICE_UNAVAILABLE,
        format!("{type_id} '{entity_id}' kept changing on other processes; retry the command"),
    ))
}

/// What follows a command's state change, its reply already computed.
pub(crate) enum Next<R> {
    Reply(R, crate::metadata::Metadata),
    Forward(crate::client::DeferredCall<R>),
    Error(CallError),
}

impl<R: serde::Serialize> Next<R> {
    /// The command's outcome, once its commit is done.
    pub(crate) fn into_outcome(
        self,
        side_effects: Vec<crate::action::SideEffect>,
    ) -> HandlerOutcome {
        match self {
            Next::Reply(value, metadata) => match serde_json::to_vec(&value) {
                Ok(json) => HandlerOutcome::new(
                    crate::outcome::Outcome::Reply {
                        body: json.into(),
                        metadata,
                    },
                    side_effects,
                ),
                Err(error) => HandlerOutcome::error(CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!("the reply could not be serialized: {error}"),
                )),
            },
            Next::Forward(call) => HandlerOutcome::forward(call.into_untyped(), side_effects),
            Next::Error(error) => HandlerOutcome::error(error),
        }
    }
}

/// Waits for `commit` (the command's own write, or for a read the entity's last write). If it
/// failed, the slot is marked stale and the outcome says what the caller gets.
pub(crate) async fn await_commit<L>(
    slot: &slots::Slot<L>,
    commit: Option<crate::store::PendingCommit>,
    type_id: &str,
    entity_id: &str,
) -> Result<(), HandlerOutcome> {
    match commit {
        Some(commit) => match commit.await {
            Ok(_) => Ok(()),
            Err(error) => {
                slot.stale.store(true, std::sync::atomic::Ordering::Release);
                Err(commit_failed(type_id, entity_id, &error))
            }
        },
        None => Ok(()),
    }
}
