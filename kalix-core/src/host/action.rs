//! The action host: actions are stateless, so carrying out their effect is resolving it and
//! serializing the reply.

use std::panic::AssertUnwindSafe;

use futures_util::StreamExt;
use serde::Serialize;

use crate::action::{Effect, EffectStream};
use crate::error::CallError;
use crate::outcome::Answer;
use crate::outcome::{HandlerOutcome, Outcome};
use crate::status::ErrorCode;

/// Resolves an action's effect into what the dispatcher carries out.
pub(crate) async fn complete<T: Serialize + Send + 'static>(effect: Effect<T>) -> HandlerOutcome {
    let (answer, side_effects) = effect.resolve().await;
    super::answered(answer, side_effects)
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
                Answer::Reply(value, _) => Some(super::to_json(&value)),
                Answer::Error(error) => Some(Err(error)),
                Answer::Ignore => None,
                Answer::Forward(call) => Some(Err(CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "a streamed reply cannot forward (to {})",
                        call.call().target()
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
