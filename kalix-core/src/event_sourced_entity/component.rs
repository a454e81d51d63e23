//! The trait `#[event_sourced_entity]` implements.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::ComponentClient;

/// Links an event type to the state of the entity that emits it, so that in
/// `Effect::emit_event(event).then_reply(|state| ..)` the state's type follows from the event's.
///
/// `#[event_sourced_entity]` implements it for the entity's event type; an event type therefore
/// belongs to one entity type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the event type of an event sourced entity",
    note = "it becomes one when the handlers of an `#[event_sourced_entity]` return `event_sourced_entity::Effect<State, {Self}, Reply>`"
)]
pub trait EntityEvent {
    /// The state of the entity whose event this is.
    type State;
}

/// Implemented by `#[event_sourced_entity]` for the type of the `impl` block. You never implement
/// it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event sourced entity",
    label = "not an event sourced entity",
    note = "put `#[event_sourced_entity(type_id = \"..\", id = \"..\")]` on an `impl {Self}` block"
)]
pub trait EventSourcedComponent: Send + Sync + Sized + 'static {
    /// The component id: the module of the `impl` block and the type's name.
    const COMPONENT_ID: &'static str;
    /// The journal's namespace; changing it starts from empty journals.
    const TYPE_ID: &'static str;
    /// The path parameter that carries the entity id.
    const ID_PARAM: &'static str;
    /// A snapshot is taken each time the journal passes a multiple of this many events.
    const SNAPSHOT_EVERY: u64;
    /// The state.
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The events.
    type Event: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The generated client, with one method per command handler.
    type Client;
    /// The client of the entity `entity_id`.
    fn client(client: ComponentClient, entity_id: String) -> Self::Client;
    /// The state before any event.
    fn empty_state(entity_id: &str) -> Self::State;
    /// Folds one event into the state (the `#[event_handler]` method).
    fn apply(&self, state: Self::State, event: &Self::Event) -> Self::State;
}
