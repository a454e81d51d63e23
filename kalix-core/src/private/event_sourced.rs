//! What generated code of event-sourced entities reaches: their runtime, commands, and
//! subscriptions to their events.

use super::*;

pub use crate::host::event_sourced::{EventSourcedRuntime, Journal, STATE as ENTITY_STATE};

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

/// The entity's state as its own event handlers fold it, for the admin API (path parameter
/// `id`): read as a command reads it, without changing anything.
pub fn event_sourced_state<E: EventSourcedComponent>(
    instance: Arc<dyn Any + Send + Sync>,
    invocation: Invocation,
    _: ComponentClient,
) -> BoxFuture<'static, HandlerOutcome> {
    let runtime = downcast::<EventSourcedRuntime<E>>(instance);
    let id = invocation.path_param::<String>("id", "String");
    Box::pin(async move {
        let id = match id {
            Ok(id) => id,
            Err(error) => return HandlerOutcome::error(error),
        };
        match runtime.inspect(&id, |folded| folded.to_admin_json()).await {
            Ok(state) => crate::host::answered(
                crate::outcome::Answer::Reply(state, crate::Metadata::new()),
                Vec::new(),
            ),
            Err(error) => HandlerOutcome::error(error),
        }
    })
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

/// Implemented by `#[event_sourced_entity]` for the entity's event type: what a subscription to
/// its events takes (or, with `ignore_unknown`, a type of the subscriber's own).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event-sourced entity whose events are `{T}`",
    label = "an `#[event_sourced_entity]` whose event type the handler takes",
    note = "a subscription to an event-sourced entity takes the event type its effects emit, not its state; \
            to take some of the events in a type of your own, add `ignore_unknown`"
)]
pub trait EventsOf<T>: crate::event_sourced_entity::EventSourcedComponent {}

/// An event of `E`, in the current shape.
pub fn current_event<E: crate::event_sourced_entity::EventSourcedComponent>(
    type_name: &str,
    payload: &bytes::Bytes,
) -> bytes::Bytes {
    crate::event_sourced_entity::current_event_json::<E>(type_name, payload)
}

/// The subscription of a handler taking `T` to the events of the event-sourced entity `E`;
/// compiles only if `E` is one and `T` is its event type.
pub const fn event_sourced_events<E, T>() -> SubscriptionDescriptor
where
    E: EventsOf<T>,
    T: serde::de::DeserializeOwned,
{
    events_subscription::<E, T>(false)
}

/// The subscription of a handler taking `T` to those events of the event-sourced entity `E`
/// that parse as a `T` (`ignore_unknown`: the others are skipped).
pub const fn event_sourced_events_of<E, T>() -> SubscriptionDescriptor
where
    E: crate::event_sourced_entity::EventSourcedComponent,
    T: serde::de::DeserializeOwned,
{
    events_subscription::<E, T>(true)
}

/// A subscription to `E`'s events, decoded as `T`.
const fn events_subscription<E, T>(ignore_unknown: bool) -> SubscriptionDescriptor
where
    E: crate::event_sourced_entity::EventSourcedComponent,
    T: serde::de::DeserializeOwned,
{
    SubscriptionDescriptor {
        source: SubscriptionSource::EventSourcedEntity,
        component: E::COMPONENT_ID,
        type_id: E::TYPE_ID,
        handles_deletes: false,
        ignore_unknown,
        decode: decode_message::<T>,
        migrate: current_event::<E>,
    }
}
