//! The action host: actions are stateless, so carrying out their effect is resolving it and
//! serializing the reply.

use bytes::Bytes;
use std::panic::AssertUnwindSafe;

use futures_util::StreamExt;
use serde::Serialize;

use crate::action::{Effect, EffectStream, Resolved};
use crate::error::CallError;
use crate::outcome::{HandlerOutcome, Outcome};
use crate::status::ErrorCode;

/// Resolves an action's effect into what the dispatcher carries out.
pub(crate) async fn complete<T: Serialize + Send + 'static>(effect: Effect<T>) -> HandlerOutcome {
    let (resolved, side_effects) = effect.resolve().await;
    match resolved {
        Resolved::Reply(value, metadata) => match to_json(&value) {
            Ok(body) => HandlerOutcome::new(Outcome::Reply { body, metadata }, side_effects),
            Err(error) => HandlerOutcome::new(Outcome::Error(error), side_effects),
        },
        Resolved::Error(error) => HandlerOutcome::new(Outcome::Error(error), side_effects),
        Resolved::Forward(call) => HandlerOutcome::forward(call.into_untyped(), side_effects),
        Resolved::Ignore => HandlerOutcome::new(Outcome::Ignore, Vec::new()),
    }
}

/// Turns a stream of effects into a stream of JSON replies that ends at the first error.
pub(crate) fn complete_stream<T: Serialize + Send + 'static>(
    stream: EffectStream<T>,
) -> HandlerOutcome {
    let replies = stream
        .into_effects()
        .then(|effect| async move {
            let (resolved, side_effects) = effect.resolve().await;
            if !side_effects.is_empty() {
                tracing::warn!("side effects of streamed replies are not run");
            }
            match resolved {
                Resolved::Reply(value, _) => Some(to_json(&value)),
                Resolved::Error(error) => Some(Err(error)),
                Resolved::Ignore => None,
                Resolved::Forward(call) => Some(Err(CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "a streamed reply cannot forward (to {}::{})",
                        call.call().component(),
                        call.call().method()
                    ),
                ))),
            }
        })
        .filter_map(std::future::ready);
    // A panic while producing an element becomes a 500 element, like a panicking handler.
    let guarded = AssertUnwindSafe(replies).catch_unwind().map(|item| {
        item.unwrap_or_else(|panic| {
            Err(crate::outcome::panic_error(
                "stream",
                "streamed reply",
                panic.as_ref(),
            ))
        })
    });
    // The first error is the last element: the stream ends there, without polling further.
    let replies =
        futures_util::stream::unfold((guarded.boxed(), false), |(mut items, ended)| async move {
            if ended {
                return None;
            }
            let item = items.next().await?;
            let ended = item.is_err();
            Some((item, (items, ended)))
        });
    HandlerOutcome::new(Outcome::Stream(replies.boxed()), Vec::new())
}

fn to_json<T: Serialize>(value: &T) -> Result<Bytes, CallError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|error| {
        tracing::error!(%error, "a reply could not be serialized");
        CallError::new(
            ErrorCode::INTERNAL_SERVER_ERROR,
            format!("the reply could not be serialized: {error}"),
        )
    })
}
