//! Unit tests of actions: call a handler, inspect its effect.

use futures_util::StreamExt;
use kalix_core::action::{ActionContext, Effect, EffectStream, Resolved, SideEffect};
use kalix_core::{Call, ComponentClient, ErrorCode, Metadata};

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

/// The effect of one handler call, resolved.
///
/// The accessors for one kind of effect (`reply`, `error`, `forward`) panic with a message saying
/// what the effect was instead, so a failing assertion reads well.
#[derive(Debug)]
pub struct ActionResult<T> {
    resolved: Resolved<T>,
    side_effects: Vec<SideEffect>,
}

impl<T: Send + 'static> ActionResult<T> {
    /// Resolves `effect` (running its asynchronous parts) into a result.
    pub async fn of(effect: Effect<T>) -> Self {
        let (resolved, side_effects) = effect.resolve().await;
        Self {
            resolved,
            side_effects,
        }
    }
}

impl<T> ActionResult<T> {
    fn describe(&self) -> String {
        match &self.resolved {
            Resolved::Reply(..) => "a reply".to_owned(),
            Resolved::Error(error) => format!("an error ({error})"),
            Resolved::Forward(call) => format!(
                "a forward to {}::{}",
                call.call().component(),
                call.call().method()
            ),
            Resolved::Ignore => "ignore".to_owned(),
        }
    }

    /// Whether the handler replied.
    pub fn is_reply(&self) -> bool {
        matches!(self.resolved, Resolved::Reply(..))
    }

    /// The reply. Panics if the effect was not a reply.
    pub fn reply(&self) -> &T {
        match &self.resolved {
            Resolved::Reply(value, _) => value,
            _ => panic!("expected a reply, but the effect was {}", self.describe()),
        }
    }

    /// The reply's metadata. Panics if the effect was not a reply.
    pub fn reply_metadata(&self) -> &Metadata {
        match &self.resolved {
            Resolved::Reply(_, metadata) => metadata,
            _ => panic!("expected a reply, but the effect was {}", self.describe()),
        }
    }

    /// Whether the handler failed.
    pub fn is_error(&self) -> bool {
        matches!(self.resolved, Resolved::Error(_))
    }

    /// The error's description. Panics if the effect was not an error.
    pub fn error(&self) -> &str {
        match &self.resolved {
            Resolved::Error(error) => error.description(),
            _ => panic!("expected an error, but the effect was {}", self.describe()),
        }
    }

    /// The error's status. Panics if the effect was not an error.
    pub fn error_status(&self) -> ErrorCode {
        match &self.resolved {
            Resolved::Error(error) => error.error_code(),
            _ => panic!("expected an error, but the effect was {}", self.describe()),
        }
    }

    /// Whether the handler forwarded.
    pub fn is_forward(&self) -> bool {
        matches!(self.resolved, Resolved::Forward(_))
    }

    /// The forwarded call: target component, method, body and metadata. Panics if the effect
    /// was not a forward.
    pub fn forward(&self) -> &Call {
        match &self.resolved {
            Resolved::Forward(call) => call.call(),
            _ => panic!("expected a forward, but the effect was {}", self.describe()),
        }
    }

    /// Whether the handler ignored the call.
    pub fn is_ignore(&self) -> bool {
        matches!(self.resolved, Resolved::Ignore)
    }

    /// The side effects, in the order they were added.
    pub fn side_effects(&self) -> &[SideEffect] {
        &self.side_effects
    }
}
