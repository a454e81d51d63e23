//! The trait `#[value_entity]` implements.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::ComponentClient;

/// Implemented by `#[value_entity]` for the type of the `impl` block. You never implement it by
/// hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value entity",
    label = "not a value entity",
    note = "put `#[value_entity(type_id = \"..\", id = \"..\")]` on an `impl {Self}` block"
)]
pub trait ValueEntityComponent: Send + Sync + Sized + 'static {
    /// The component id: the module of the `impl` block and the type's name.
    const COMPONENT_ID: &'static str;
    /// The storage namespace; changing it starts from empty state.
    const TYPE_ID: &'static str;
    /// The path parameter that carries the entity id.
    const ID_PARAM: &'static str;
    /// The state.
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The generated client, with one method per handler.
    type Client;
    /// The client of the entity `entity_id`.
    fn client(client: ComponentClient, entity_id: String) -> Self::Client;
    /// The state a new (or deleted) entity has.
    fn empty_state(entity_id: &str) -> Self::State;
}
