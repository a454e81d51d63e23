//! `action::Effect`: what an action handler asks the runtime to do.

use std::future::Future;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::action::SideEffect;
use crate::client::DeferredCall;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::outcome::Answer;
use crate::status::ErrorCode;

/// What an action handler returns: reply, fail, forward, reply later, or ignore, plus any side
/// effects.
///
/// ```
/// use kalix_core::prelude::*;
///
/// fn check(value: u64) -> action::Effect<u64> {
///     if value > 10_000 {
///         return action::Effect::error("Only numbers between 0 and 10k are allowed");
///     }
///     action::Effect::reply(value)
/// }
/// ```
#[must_use = "an effect does nothing unless the handler returns it"]
pub struct Effect<T> {
    kind: Kind<T>,
    side_effects: Vec<SideEffect>,
}

enum Kind<T> {
    Reply(T, Metadata),
    Error(CallError),
    Forward(DeferredCall<T>),
    AsyncReply(BoxFuture<'static, Result<T, CallError>>, Metadata),
    AsyncEffect(BoxFuture<'static, Effect<T>>),
    Ignore,
}

impl<T: Send + 'static> Effect<T> {
    fn of(kind: Kind<T>) -> Self {
        Self {
            kind,
            side_effects: Vec::new(),
        }
    }

    /// Reply with `value`, sent as JSON with status 200.
    pub fn reply(value: T) -> Self {
        Self::of(Kind::Reply(value, Metadata::new()))
    }

    /// Reply with `value` and metadata: its entries become response headers and its status code,
    /// if set, replaces 200.
    pub fn reply_with(value: T, metadata: Metadata) -> Self {
        Self::of(Kind::Reply(value, metadata))
    }

    /// Fail with status 400 and `description` (the `detail` of the problem body).
    pub fn error(description: impl Into<String>) -> Self {
        Self::error_with_status(description, ErrorCode::BAD_REQUEST)
    }

    /// Fail with the given status and `description`.
    pub fn error_with_status(description: impl Into<String>, status: ErrorCode) -> Self {
        Self::of(Kind::Error(CallError::new(status, description)))
    }

    /// Fail with `error` as it is (its status and description): how a handler passes on the
    /// failure of a call it awaited.
    ///
    /// ```
    /// use kalix_core::{CallError, ErrorCode, action};
    ///
    /// let effect: action::Effect<String> =
    ///     action::Effect::failed(CallError::new(ErrorCode::NOT_FOUND, "No order found for 'o1'"));
    /// ```
    pub fn failed(error: CallError) -> Self {
        Self::of(Kind::Error(error))
    }

    /// Let another component's handler answer: the caller gets that handler's reply or error.
    pub fn forward(call: DeferredCall<T>) -> Self {
        Self::of(Kind::Forward(call))
    }

    /// Reply with what `future` yields, or fail with its error.
    pub fn async_reply(
        future: impl Future<Output = Result<T, CallError>> + Send + 'static,
    ) -> Self {
        Self::of(Kind::AsyncReply(future.boxed(), Metadata::new()))
    }

    /// Like [`Effect::async_reply`], with reply metadata.
    pub fn async_reply_with(
        future: impl Future<Output = Result<T, CallError>> + Send + 'static,
        metadata: Metadata,
    ) -> Self {
        Self::of(Kind::AsyncReply(future.boxed(), metadata))
    }

    /// Run `future` and do the effect it yields (which may itself be asynchronous).
    pub fn async_effect(future: impl Future<Output = Effect<T>> + Send + 'static) -> Self {
        Self::of(Kind::AsyncEffect(future.boxed()))
    }

    /// Send no reply: over HTTP the caller gets 404. Side effects of an ignored call are dropped.
    pub fn ignore() -> Self {
        Self::of(Kind::Ignore)
    }

    /// Adds a side effect, run after the handler and before (synchronous) or beside (asynchronous)
    /// the reply.
    pub fn add_side_effect(mut self, side_effect: SideEffect) -> Self {
        self.side_effects.push(side_effect);
        self
    }

    /// Adds several side effects.
    pub fn add_side_effects(mut self, side_effects: impl IntoIterator<Item = SideEffect>) -> Self {
        self.side_effects.extend(side_effects);
        self
    }

    /// Runs the asynchronous parts (`async_reply`, `async_effect`) and returns what remains to
    /// do, with every side effect collected along the way.
    pub async fn resolve(self) -> (Answer<T>, Vec<SideEffect>) {
        let mut side_effects = self.side_effects;
        let mut kind = self.kind;
        loop {
            let resolved = match kind {
                Kind::Reply(value, metadata) => Answer::Reply(value, metadata),
                Kind::Error(error) => Answer::Error(error),
                Kind::Forward(call) => Answer::Forward(call),
                Kind::AsyncReply(future, metadata) => match future.await {
                    Ok(value) => Answer::Reply(value, metadata),
                    Err(error) => Answer::Error(error),
                },
                Kind::AsyncEffect(future) => {
                    let next = future.await;
                    side_effects.extend(next.side_effects);
                    kind = next.kind;
                    continue;
                }
                Kind::Ignore => {
                    if !side_effects.is_empty() {
                        tracing::warn!(
                            count = side_effects.len(),
                            "an ignored call drops its side effects"
                        );
                        side_effects.clear();
                    }
                    Answer::Ignore
                }
            };
            return (resolved, side_effects);
        }
    }
}
