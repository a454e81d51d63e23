//! The trait `#[replicated_entity]` implements.

use crate::client::ComponentClient;

/// Implemented by `#[replicated_entity]` for the type of the `impl` block. You never implement
/// it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a replicated entity",
    label = "not a replicated entity",
    note = "put `#[replicated_entity(type_id = \"..\", id = \"..\")]` on an `impl {Self}` block"
)]
pub trait ReplicatedEntityComponent: Send + Sync + Sized + 'static {
    /// The component id: the module of the `impl` block and the type's name.
    const COMPONENT_ID: &'static str;
    /// The storage namespace; changing it starts from empty data.
    const TYPE_ID: &'static str;
    /// The path parameter that carries the entity id.
    const ID_PARAM: &'static str;
    /// The data: one of the replicated data types.
    type State: super::ReplicatedData;
    /// The generated client, with one method per handler.
    type Client;
    /// The client of the entity `entity_id`.
    fn client(client: ComponentClient, entity_id: String) -> Self::Client;
}
