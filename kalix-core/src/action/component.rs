//! The trait `#[action]` implements, linking a type to its generated client.

use crate::client::ComponentClient;

/// Implemented by `#[action]` for the type of the `impl` block; links it to its typed client.
///
/// You never implement it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an action",
    label = "not an action",
    note = "put `#[action]` on an `impl {Self}` block to make it one"
)]
pub trait ActionComponent: Send + Sync + 'static {
    /// The component id: the module of the `impl` block and the type's name.
    const COMPONENT_ID: &'static str;
    /// The generated client, with one method per handler.
    type Client;
    /// The client of this action, sending its calls through `client`.
    fn client(client: ComponentClient) -> Self::Client;
}
