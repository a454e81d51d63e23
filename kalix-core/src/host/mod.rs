//! Component hosts: how each kind of component runs a call and carries out its effect.

pub(crate) mod action;
mod entity;
mod entity_id;
pub(crate) mod event_sourced;
pub(crate) mod kept;
pub(crate) mod replicated_entity;
mod slots;
pub(crate) mod value_entity;
pub(crate) mod workflow;

use std::time::Duration;

use crate::error::CallError;
use crate::log_limit::LogLimit;
use crate::outcome::{Answer, HandlerOutcome, Outcome};
use crate::status::ErrorCode;

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

/// What the dispatcher carries out for a handler's answer: the reply serialized, or the forward
/// or error as it is.
pub(crate) fn answered<R: serde::Serialize>(
    answer: Answer<R>,
    side_effects: Vec<crate::action::SideEffect>,
) -> HandlerOutcome {
    answered_as(answer, side_effects, None)
}

/// As [`answered`], with the reply's JSON when it was serialized already (`body`).
pub(crate) fn answered_as<R: serde::Serialize>(
    answer: Answer<R>,
    side_effects: Vec<crate::action::SideEffect>,
    body: Option<bytes::Bytes>,
) -> HandlerOutcome {
    match answer {
        Answer::Reply(value, metadata) => match body.map_or_else(|| to_json(&value), Ok) {
            Ok(body) => {
                let payload_type = crate::cloud_events::PayloadType::of(&value);
                let reply = Outcome::Reply {
                    body,
                    metadata,
                    payload_type,
                };
                HandlerOutcome::new(reply, side_effects)
            }
            Err(error) => HandlerOutcome::new(Outcome::Error(error), side_effects),
        },
        Answer::Error(error) => HandlerOutcome::new(Outcome::Error(error), side_effects),
        Answer::Forward(call) => HandlerOutcome::forward(call.into_untyped(), side_effects),
        // An ignored call's side effects were dropped when its effect was resolved.
        Answer::Ignore => HandlerOutcome::new(Outcome::Ignore, Vec::new()),
    }
}

/// A reply as JSON; a reply that does not serialize is a 500 (and logged).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<bytes::Bytes, CallError> {
    serde_json::to_vec(value)
        .map(bytes::Bytes::from)
        .map_err(|error| {
            tracing::error!(%error, "a reply could not be serialized");
            CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!("the reply could not be serialized: {error}"),
            )
        })
}
