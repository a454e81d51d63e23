//! What generated code reaches, under one path users never name. Not a public API: it changes
//! with the macros.

pub use futures_util::future::BoxFuture;
pub use inventory;
pub use std::any::Any;
pub use std::sync::Arc;

pub use crate::call::Call;
pub use crate::client::ComponentClient;
pub use crate::dependencies::{Dependencies, MissingDependency};
pub use crate::host::value_entity::{StateRow, ValueEntityRuntime};
pub use crate::invocation::Invocation;
pub use crate::outcome::HandlerOutcome;
pub use crate::registry::{
    ComponentDescriptor, ComponentKind, HandlerDescriptor, HttpMethod, PublishTarget,
    RouteDescriptor, RouteSegment, SubscriptionDescriptor, SubscriptionSource,
    TopicSubscriptionDescriptor, Trigger,
};
pub use crate::registry::{
    RowUpdate, ViewDescriptor, ViewSourceDescriptor, ViewUpdateDescriptor, ViewUpdateInput,
};
pub use crate::runtime::ComponentEnv;
use crate::value_entity::ValueEntityComponent;
pub use crate::view::private::*;
pub use crate::view::query::{
    CompareOp, Expr, Offset, Operand, Order, Query, ResultShape, SelectItem,
};
pub use crate::view::shape::shape_of;
pub use serde_json::{Map as JsonMap, Value as JsonValue};

use serde::Serialize;

use crate::action::{Effect, EffectStream};

/// The instance of a component, back from the registry's type-erased form.
pub fn downcast<T: Any + Send + Sync>(instance: Arc<dyn Any + Send + Sync>) -> Arc<T> {
    instance
        .downcast::<T>()
        .unwrap_or_else(|_| unreachable!("the registry pairs each handler with its own component"))
}

/// Carries out an action's effect.
pub async fn complete_action<T: ReplyType>(effect: Effect<T>) -> HandlerOutcome {
    crate::host::action::complete(effect).await
}

/// Carries out an action's streamed effects.
pub fn complete_action_stream<T: ReplyType>(stream: EffectStream<T>) -> HandlerOutcome {
    crate::host::action::complete_stream(stream)
}

/// A component built with `Default`; the bound carries a readable error.
#[diagnostic::on_unimplemented(
    message = "the component `{Self}` cannot be built: it does not implement `Default`",
    label = "needs `Default`",
    note = "derive or implement `Default` for `{Self}`, or name a constructor taking `&Dependencies`: `#[action(new = {Self}::new)]`"
)]
pub trait DefaultComponent: Sized {
    /// Builds the component.
    fn build() -> Self;
}

impl<T: Default> DefaultComponent for T {
    fn build() -> Self {
        T::default()
    }
}

/// Builds a component with `Default`.
pub fn construct_default<T: DefaultComponent + Any + Send + Sync>(
    _: &ComponentEnv<'_>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    Ok(Arc::new(T::build()))
}

/// Builds a value entity's runtime around the user's component.
pub fn construct_value_entity<E: ValueEntityComponent>(
    env: &ComponentEnv<'_>,
    entity: Result<E, MissingDependency>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    Ok(ValueEntityRuntime::new(StateRow(entity?), env))
}

/// A value entity built with `Default`.
pub fn default_value_entity<E: ValueEntityComponent + DefaultComponent>(
    env: &ComponentEnv<'_>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    construct_value_entity(env, Ok(E::build()))
}

/// A handler's reply type; the bound carries a readable error.
#[diagnostic::on_unimplemented(
    message = "the reply type `{Self}` cannot be sent as JSON",
    label = "needs `Serialize`",
    note = "derive `serde::Serialize` for `{Self}`"
)]
pub trait ReplyType: Serialize + Send + 'static {}
impl<T: Serialize + Send + 'static> ReplyType for T {}

/// Decodes a handler's JSON body; the bound carries a readable error.
pub fn body<T: BodyType>(
    invocation: &mut Invocation,
    type_name: &str,
) -> Result<T, crate::CallError> {
    invocation.body(type_name)
}

/// A deferred call with a JSON body; the bound carries a readable error.
pub fn deferred_with_body<R, B: ClientBodyType>(
    client: &ComponentClient,
    call: Call,
    body: &B,
) -> crate::DeferredCall<R> {
    client.deferred(call, Some(body))
}

/// A handler's body type, read from JSON by the runtime.
#[diagnostic::on_unimplemented(
    message = "the body type `{Self}` cannot be read from JSON",
    label = "needs `Deserialize`",
    note = "derive `serde::Deserialize` for `{Self}`"
)]
pub trait BodyType: serde::de::DeserializeOwned {}
impl<T: serde::de::DeserializeOwned> BodyType for T {}

/// A handler's body type, written as JSON by the generated component client.
#[diagnostic::on_unimplemented(
    message = "the body type `{Self}` cannot be sent as JSON by the component client",
    label = "needs `Serialize`",
    note = "derive `serde::Serialize` for `{Self}`"
)]
pub trait ClientBodyType: Serialize {}
impl<T: Serialize> ClientBodyType for T {}

/// Registers an action built by a user constructor.
pub fn construct_action<T: Any + Send + Sync>(
    _: &ComponentEnv<'_>,
    instance: Result<T, MissingDependency>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    Ok(Arc::new(instance?))
}

/// Runs one command on a value entity; the bound on the reply carries a readable error.
pub async fn value_entity_command<E: ValueEntityComponent, R: ReplyType>(
    runtime: &ValueEntityRuntime<E>,
    entity_id: String,
    metadata: crate::Metadata,
    client: ComponentClient,
    handler: impl FnOnce(
        &E,
        &E::State,
        &crate::value_entity::ValueEntityContext,
    ) -> crate::value_entity::Effect<E::State, R>,
) -> HandlerOutcome {
    runtime.command(entity_id, metadata, client, handler).await
}

use crate::event_sourced_entity::EventSourcedComponent;
pub use crate::host::event_sourced::{EventSourcedRuntime, Journal};

/// Builds an event-sourced entity's runtime around the user's component.
pub fn construct_event_sourced<E: EventSourcedComponent>(
    env: &ComponentEnv<'_>,
    entity: Result<E, MissingDependency>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    Ok(EventSourcedRuntime::new(Journal(entity?), env))
}

/// An event-sourced entity built with `Default`.
pub fn default_event_sourced<E: EventSourcedComponent + DefaultComponent>(
    env: &ComponentEnv<'_>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    construct_event_sourced(env, Ok(E::build()))
}

/// Runs one command on an event-sourced entity; the bound on the reply carries a readable error.
pub async fn event_sourced_command<E: EventSourcedComponent, R: ReplyType>(
    runtime: &EventSourcedRuntime<E>,
    entity_id: String,
    metadata: crate::Metadata,
    client: ComponentClient,
    handler: impl FnOnce(
        &E,
        &E::State,
        &crate::event_sourced_entity::EventSourcedEntityContext,
    ) -> crate::event_sourced_entity::Effect<E::State, E::Event, R>,
) -> HandlerOutcome {
    runtime.command(entity_id, metadata, client, handler).await
}

/// The reply type of an entity's effect, so a handler may return a type alias of its effect
/// (`type Effect<R> = value_entity::Effect<Customer, R>`) and the generated client still knows
/// what the call yields.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an entity's effect",
    label = "an entity handler returns its kind's `Effect`",
    note = "a value entity handler returns `value_entity::Effect<State, Reply>`, an event-sourced one `event_sourced_entity::Effect<State, Event, Reply>`, or a type alias of either"
)]
pub trait EffectReply {
    /// What the handler replies with.
    type Reply;
}

impl<S, R> EffectReply for crate::value_entity::Effect<S, R> {
    type Reply = R;
}

impl<S, E, R> EffectReply for crate::event_sourced_entity::Effect<S, E, R> {
    type Reply = R;
}

/// Checks that a path or query parameter's type is a [`crate::UrlParam`]. The generated parsing
/// and client code both call it first, spanned at the parameter's type, so a type that is not
/// one is reported once there (the compiler drops the identical report and the ones it implies).
pub fn assert_url_param<T: crate::UrlParam>() {}

/// The subscription of a handler taking `T` to the changes of the value entity `E`; compiles
/// only if `E` is one and `T` is its state. One function, so a mistake is one error.
/// Implemented by `#[value_entity]` for the entity's state type: what a subscription to its
/// changes takes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value entity whose state is `{T}`",
    label = "a `#[value_entity]` whose state the handler takes",
    note = "a subscription to a value entity's changes takes the entity's state type (as its effects, or its `state = ..` option, name it)"
)]
pub trait StateOf<T>: crate::value_entity::ValueEntityComponent {}

/// Implemented by `#[event_sourced_entity]` for the entity's event type: what a subscription to
/// its events takes (or, with `ignore_unknown`, a type of the subscriber's own).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event-sourced entity whose events are `{T}`",
    label = "an `#[event_sourced_entity]` whose event type the handler takes",
    note = "a subscription to an event-sourced entity takes the event type its effects emit, not its state; \
            to take some of the events in a type of your own, add `ignore_unknown`"
)]
pub trait EventsOf<T>: crate::event_sourced_entity::EventSourcedComponent {}

pub const fn value_entity_changes<E, T>() -> SubscriptionDescriptor
where
    E: StateOf<T>,
    T: serde::de::DeserializeOwned,
{
    SubscriptionDescriptor {
        source: SubscriptionSource::ValueEntity,
        component: E::COMPONENT_ID,
        type_id: E::TYPE_ID,
        handles_deletes: false,
        ignore_unknown: false,
        decode: decode_message::<T>,
        migrate: current_state::<E>,
    }
}

/// A value entity's state, read as stored.
pub fn as_stored(_: &str, payload: &bytes::Bytes) -> bytes::Bytes {
    payload.clone()
}

/// A state of value entity `E` as its subscribers and views read it: in the current shape.
pub fn current_state<E: ValueEntityComponent>(_: &str, payload: &bytes::Bytes) -> bytes::Bytes {
    crate::value_entity::current_state_json::<E>(payload)
}

/// A state of value entity `E` as it is stored: with its version when `E` has a migration (the
/// testkit writes states this way).
pub fn stored_state<E: ValueEntityComponent>(json: bytes::Bytes) -> bytes::Bytes {
    crate::value_entity::stored_state_json::<E>(json)
}

/// An event of `E`, in the current shape.
pub fn current_event<E: crate::event_sourced_entity::EventSourcedComponent>(
    type_name: &str,
    payload: &bytes::Bytes,
) -> bytes::Bytes {
    crate::event_sourced_entity::current_event_json::<E>(type_name, payload)
}

/// The subscription of a handler to the deletes of the value entity `E`.
pub const fn value_entity_deletes<E>() -> SubscriptionDescriptor
where
    E: crate::value_entity::ValueEntityComponent,
{
    SubscriptionDescriptor {
        source: SubscriptionSource::ValueEntity,
        component: E::COMPONENT_ID,
        type_id: E::TYPE_ID,
        handles_deletes: true,
        ignore_unknown: false,
        decode: decode_message::<()>,
        migrate: as_stored,
    }
}

/// The subscription of a handler taking `T` to the events of the event-sourced entity `E`;
/// compiles only if `E` is one and `T` is its event type.
pub const fn event_sourced_events<E, T>() -> SubscriptionDescriptor
where
    E: EventsOf<T>,
    T: serde::de::DeserializeOwned,
{
    SubscriptionDescriptor {
        source: SubscriptionSource::EventSourcedEntity,
        component: E::COMPONENT_ID,
        type_id: E::TYPE_ID,
        handles_deletes: false,
        ignore_unknown: false,
        decode: decode_message::<T>,
        migrate: current_event::<E>,
    }
}

/// The subscription of a handler taking `T` to those events of the event-sourced entity `E`
/// that parse as a `T` (`ignore_unknown`: the others are skipped).
pub const fn event_sourced_events_of<E, T>() -> SubscriptionDescriptor
where
    E: crate::event_sourced_entity::EventSourcedComponent,
    T: serde::de::DeserializeOwned,
{
    SubscriptionDescriptor {
        source: SubscriptionSource::EventSourcedEntity,
        component: E::COMPONENT_ID,
        type_id: E::TYPE_ID,
        handles_deletes: false,
        ignore_unknown: true,
        decode: decode_message::<T>,
        migrate: current_event::<E>,
    }
}

/// Reads a topic message's body as a `T` (see `TopicSubscriptionDescriptor::decode`).
pub fn decode_message<T: serde::de::DeserializeOwned>(
    ce_type: &str,
    body: &[u8],
    as_variant: bool,
) -> Option<serde_json::Value> {
    crate::cloud_events::decode::<T>(ce_type, body, as_variant)
}

pub use crate::host::workflow::{WorkflowRow, WorkflowRuntime};
use crate::workflow::WorkflowComponent;

impl<W, S, R> EffectReply for crate::workflow::Effect<W, S, R> {
    type Reply = R;
}

/// Builds a workflow's runtime around the user's component.
pub fn construct_workflow<W: WorkflowComponent>(
    env: &ComponentEnv<'_>,
    workflow: Result<W, MissingDependency>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    let kind = WorkflowRow::new(
        workflow?,
        Arc::clone(&env.clock),
        env.timers.clone(),
        env.workflow_observer.clone(),
        Arc::clone(&env.step_slots),
    )
    .run_steps_twice(env.steps_twice);
    Ok(WorkflowRuntime::new(kind, env))
}

/// A workflow built with `Default`.
pub fn default_workflow<W: WorkflowComponent + DefaultComponent>(
    env: &ComponentEnv<'_>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    construct_workflow(env, Ok(W::build()))
}

/// Runs one command on a workflow; the bound on the reply carries a readable error.
pub async fn workflow_command<W: WorkflowComponent, R: ReplyType>(
    runtime: &Arc<WorkflowRuntime<W>>,
    workflow_id: String,
    metadata: crate::Metadata,
    client: ComponentClient,
    handler: impl FnOnce(
        &W,
        Option<&W::State>,
        &crate::workflow::WorkflowContext,
    ) -> crate::workflow::Effect<W, W::State, R>,
) -> HandlerOutcome {
    runtime
        .command(workflow_id, metadata, client, handler)
        .await
}

pub use crate::host::workflow::{RESUME as WORKFLOW_RESUME, TIME_OUT as WORKFLOW_TIME_OUT};

/// The watchdog of a workflow fired: resume its step unless this process runs it.
pub fn workflow_resume<W: WorkflowComponent>(
    instance: Arc<dyn Any + Send + Sync>,
    invocation: Invocation,
    client: ComponentClient,
) -> BoxFuture<'static, HandlerOutcome> {
    let runtime = downcast::<WorkflowRuntime<W>>(instance);
    on_workflow::<W, _>(invocation, move |id| async move {
        runtime.resume(id, client).await
    })
}

/// The workflow timeout fired.
pub fn workflow_time_out<W: WorkflowComponent>(
    instance: Arc<dyn Any + Send + Sync>,
    invocation: Invocation,
    client: ComponentClient,
) -> BoxFuture<'static, HandlerOutcome> {
    let runtime = downcast::<WorkflowRuntime<W>>(instance);
    on_workflow::<W, _>(invocation, move |id| async move {
        runtime.time_out(id, client).await
    })
}

/// Runs `handle` on the workflow id an internal call names.
fn on_workflow<W: WorkflowComponent, Run: Future<Output = HandlerOutcome> + Send + 'static>(
    invocation: Invocation,
    handle: impl FnOnce(String) -> Run + Send + 'static,
) -> BoxFuture<'static, HandlerOutcome> {
    let id = invocation.path_param::<String>(W::ID_PARAM, "String");
    Box::pin(async move {
        match id {
            Ok(id) => handle(id).await,
            Err(error) => HandlerOutcome::error(error),
        }
    })
}

/// A step's input, read from the JSON its transition stored.
pub fn step_input<T: BodyType>(step: &str, input: JsonValue) -> Result<T, crate::CallError> {
    serde_json::from_value(input).map_err(|error| {
        crate::CallError::new(
            crate::ErrorCode::INTERNAL_SERVER_ERROR,
            format!("the input of step '{step}' cannot be read: {error}"),
        )
    })
}

/// How a step takes the workflow's state: `Option<&State>`, or `&State` (a step that needs one;
/// it fails when the workflow has none).
pub trait StepState<'a, S>: Sized {
    /// The parameter from the state, if any.
    fn from_state(state: Option<&'a S>, step: &str) -> Result<Self, crate::CallError>;
}

impl<'a, S> StepState<'a, S> for Option<&'a S> {
    fn from_state(state: Option<&'a S>, _: &str) -> Result<Self, crate::CallError> {
        Ok(state)
    }
}

impl<'a, S> StepState<'a, S> for &'a S {
    fn from_state(state: Option<&'a S>, step: &str) -> Result<Self, crate::CallError> {
        state.ok_or_else(|| {
            crate::CallError::new(
                crate::ErrorCode::INTERNAL_SERVER_ERROR,
                format!("step '{step}' takes the workflow's state, and the workflow has none yet"),
            )
        })
    }
}
