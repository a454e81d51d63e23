//! Unit tests of actions: call a handler, inspect its effect.

use std::sync::Arc;

use futures_util::StreamExt;
use kalix_core::action::{ActionContext, Effect, EffectStream};
use kalix_core::testing::Stubbed;
use kalix_core::{Call, ComponentClient, Metadata};

use kalix_core::timers::{ManualClock, PendingTimer, Timers};

use crate::EffectResult;
use crate::stubs::Stubs;
use crate::timers::RecordedTimers;

/// Calls the handlers of one action directly and reports their effects.
///
/// The context handed to the handler carries the metadata given with
/// [`ActionTestKit::with_metadata`] and a component client whose calls reach no service:
/// forwards and side effects are recorded, not executed, and an awaited call is answered by the
/// stub scripted for its component and method ([`ActionTestKit::stub`]), or fails with a 500
/// naming the missing stub. [`ActionTestKit::calls`] lists the
/// awaited calls.
///
/// ```
/// use kalix_core::prelude::*;
/// use kalix_testkit::ActionTestKit;
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
/// let testkit = ActionTestKit::new(Doubler);
/// let result = testkit.call(async |action, _| action.double(21).await).await;
/// assert_eq!(*result.reply(), 42);
/// # }) }
/// ```
pub struct ActionTestKit<A> {
    action: A,
    metadata: Metadata,
    stubs: Arc<Stubs>,
    clock: ManualClock,
    timers: Arc<RecordedTimers>,
}

impl<A> ActionTestKit<A> {
    /// A testkit calling the handlers of `action`.
    pub fn new(action: A) -> Self {
        let stubs: Arc<Stubs> = Arc::default();
        let clock = ManualClock::new();
        let timers = RecordedTimers::new(clock.clone(), Arc::clone(&stubs));
        *stubs.timers.lock().expect("no stub panics while held") = Some(Timers::new(Arc::clone(
            &timers,
        )
            as Arc<dyn kalix_core::timers::TimerBackend>));
        Self {
            action,
            metadata: Metadata::new(),
            stubs,
            clock,
            timers,
        }
    }

    /// The clock the handlers' timers run on. `advance(d)` fires the timers that fell due
    /// through the stubs: a stubbed call succeeds and removes its timer, an unstubbed one fails
    /// and is retried as the runtime retries it.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The timers the handlers started and did not cancel (nor fired), earliest first.
    pub fn timers(&self) -> Vec<PendingTimer> {
        self.timers.pending()
    }

    /// The typed stubs of component `C` (an action, a value or event-sourced entity, a
    /// workflow): one method per handler, answering every awaited call to it with a closure that
    /// sees the call (an entity's id is the path parameter its `id` names) and returns the
    /// handler's reply type or the error the component would give. A method that does not exist,
    /// or a reply of another type, does not compile.
    ///
    /// ```
    /// use kalix_core::prelude::*;
    /// use kalix_core::{CallError, ErrorCode};
    /// use kalix_testkit::ActionTestKit;
    ///
    /// #[derive(Default)]
    /// pub struct Counter;
    ///
    /// #[value_entity(type_id = "counter", id = "id")]
    /// impl Counter {
    ///     #[get("/counter/<id>")]
    ///     pub fn get(&self, value: &i64) -> value_entity::Effect<i64, i64> {
    ///         value_entity::Effect::reply(*value)
    ///     }
    /// }
    ///
    /// #[derive(Default)]
    /// pub struct Report;
    ///
    /// #[action]
    /// impl Report {
    ///     #[get("/report/<id>")]
    ///     async fn report(&self, id: String, ctx: &ActionContext) -> action::Effect<String> {
    ///         match ctx.component_client().value_entity::<Counter>(id).get().await {
    ///             Ok(value) => action::Effect::reply(format!("at {value}")),
    ///             Err(error) => action::Effect::error(error.description().to_owned()),
    ///         }
    ///     }
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let testkit = ActionTestKit::new(Report);
    /// testkit.stub::<Counter>().get(|call| match call.path_param("id") {
    ///     Some("c1") => Ok(7),
    ///     _ => Err(CallError::new(ErrorCode::NOT_FOUND, "no such counter")),
    /// });
    /// let result = testkit.call(async |a, ctx| a.report("c1".into(), ctx).await).await;
    /// assert_eq!(result.reply(), "at 7");
    /// let result = testkit.call(async |a, ctx| a.report("c2".into(), ctx).await).await;
    /// assert_eq!(result.error(), "no such counter");
    /// assert_eq!(testkit.calls().len(), 2);
    /// # })
    /// ```
    pub fn stub<C: Stubbed>(&self) -> C::Stubs<'_> {
        self.stubs.of::<C>()
    }

    /// The component calls awaited so far (stubbed or not), in order. Forwards and side effects
    /// are not run, so they are not here: read them from the call's result.
    pub fn calls(&self) -> Vec<Call> {
        self.stubs.calls()
    }

    /// Returns the testkit with the metadata every call's context carries (forwarded headers).
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Returns the testkit with who makes every call: its context's `principals()` and
    /// `jwt_claims()`. The ACL and `#[jwt]` checks themselves run at the ingress: test them
    /// with the integration `TestKit`.
    #[must_use]
    pub fn with_caller(
        mut self,
        principals: kalix_core::access::Principals,
        claims: kalix_core::access::JwtClaims,
    ) -> Self {
        self.metadata = self.metadata.with_caller(principals, claims);
        self
    }

    /// Returns the testkit with the metadata a subscription handler sees for the change or
    /// event number `sequence` of the entity `subject` (`ctx.event_subject()`,
    /// `ctx.event_sequence()`).
    ///
    /// ```
    /// use kalix_core::prelude::*;
    /// use kalix_testkit::ActionTestKit;
    ///
    /// #[derive(Default)]
    /// pub struct Audit;
    ///
    /// #[action]
    /// impl Audit {
    ///     pub async fn on_change(&self, value: i64, ctx: &ActionContext) -> action::Effect<String> {
    ///         let subject = ctx.event_subject().unwrap_or("?");
    ///         action::Effect::reply(format!("{subject}#{}: {value}", ctx.event_sequence().unwrap_or(0)))
    ///     }
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let testkit = ActionTestKit::new(Audit).with_event("c1", 3);
    /// let result = testkit.call(async |a, ctx| a.on_change(7, ctx).await).await;
    /// assert_eq!(result.reply(), "c1#3: 7");
    /// # })
    /// ```
    #[must_use]
    pub fn with_event(mut self, subject: impl Into<String>, sequence: u64) -> Self {
        self.metadata.set(Metadata::CE_SUBJECT, subject);
        self.metadata
            .set(Metadata::CE_SEQUENCE, sequence.to_string());
        self
    }

    fn context(&self) -> ActionContext {
        let transport: Arc<dyn kalix_core::Transport> = self.stubs.clone();
        ActionContext::new(self.metadata.clone(), ComponentClient::new(transport))
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
