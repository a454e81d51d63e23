//! Unit tests of actions: call a handler, inspect its effect.

use futures_util::StreamExt;
use kalix_core::action::{ActionContext, Effect, EffectStream};
use kalix_core::{ComponentClient, Metadata};

use crate::EffectResult;

/// Calls the handlers of one action directly and reports their effects.
///
/// The context handed to the handler carries the metadata given with
/// [`ActionTestkit::with_metadata`] and a component client that builds calls without running
/// them: forwards and side effects are recorded, not executed, and awaiting a call fails.
///
/// ```
/// use kalix_core::prelude::*;
/// use kalix_testkit::ActionTestkit;
///
/// #[derive(Default)]
/// pub struct Doubler;
///
/// #[action]
/// impl Doubler {
///     #[get("/double/<n>")]
///     async fn double(&self, n: u64) -> action::Effect<u64> {
///         action::Effect::reply(n * 2)
///     }
/// }
///
/// # tokio_test();
/// # fn tokio_test() { tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let testkit = ActionTestkit::new(Doubler);
/// let result = testkit.call(async |action, _| action.double(21).await).await;
/// assert_eq!(*result.reply(), 42);
/// # }) }
/// ```
pub struct ActionTestkit<A> {
    action: A,
    metadata: Metadata,
}

impl<A> ActionTestkit<A> {
    /// A testkit calling the handlers of `action`.
    pub fn new(action: A) -> Self {
        Self {
            action,
            metadata: Metadata::new(),
        }
    }

    /// Returns the testkit with the metadata every call's context carries (forwarded headers).
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    fn context(&self) -> ActionContext {
        ActionContext::new(self.metadata.clone(), ComponentClient::disconnected())
    }

    /// Calls a handler and resolves its effect (asynchronous replies are awaited).
    pub async fn call<T: Send + 'static>(
        &self,
        handler: impl AsyncFnOnce(&A, &ActionContext) -> Effect<T>,
    ) -> ActionResult<T> {
        let context = self.context();
        ActionResult::of(handler(&self.action, &context).await).await
    }

    /// Calls a streaming handler and resolves each of its effects, in order.
    pub async fn streamed_call<T: Send + 'static>(
        &self,
        handler: impl AsyncFnOnce(&A, &ActionContext) -> EffectStream<T>,
    ) -> Vec<ActionResult<T>> {
        let context = self.context();
        let stream = handler(&self.action, &context).await;
        let mut results = Vec::new();
        let mut effects = stream.into_effects();
        while let Some(effect) = effects.next().await {
            results.push(ActionResult::of(effect).await);
        }
        results
    }
}

/// The effect of one action handler call, resolved: its answer and side effects.
pub type ActionResult<T> = EffectResult<T>;

impl<T: Send + 'static> EffectResult<T> {
    /// Resolves `effect` (running its asynchronous parts) into a result.
    pub async fn of(effect: Effect<T>) -> Self {
        let (answer, side_effects) = effect.resolve().await;
        Self::new(answer, side_effects, ())
    }
}
