//! What generated code of value entities reaches: their runtime, commands, and subscriptions to
//! their changes.

use super::*;

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

/// Implemented by `#[value_entity]` for the entity's state type: what a subscription to its
/// changes takes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value entity whose state is `{T}`",
    label = "a `#[value_entity]` whose state the handler takes",
    note = "a subscription to a value entity's changes takes the entity's state type (as its effects, or its `state = ..` option, name it)"
)]
pub trait StateOf<T>: crate::value_entity::ValueEntityComponent {}

/// The subscription of a handler taking `T` to the changes of the value entity `E`; compiles
/// only if `E` is one and `T` is its state. One function, so a mistake is one error.
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
