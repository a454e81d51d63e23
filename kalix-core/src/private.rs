//! What generated code reaches, under one path users never name. Not a public API: it changes
//! with the macros.

pub use futures_util::future::BoxFuture;
pub use inventory;
pub use std::any::Any;
pub use std::sync::Arc;

pub use crate::call::Call;
pub use crate::client::ComponentClient;
pub use crate::dependencies::{Dependencies, MissingDependency};
pub use crate::dispatch::HandlerOutcome;
pub use crate::invocation::Invocation;
pub use crate::registry::{
    ComponentDescriptor, ComponentKind, HandlerDescriptor, HttpMethod, RouteDescriptor,
};

use serde::Serialize;

use crate::action::{Effect, EffectStream};

/// The instance of a component, back from the registry's type-erased form.
pub fn downcast<T: Any + Send + Sync>(instance: Arc<dyn Any + Send + Sync>) -> Arc<T> {
    instance
        .downcast::<T>()
        .unwrap_or_else(|_| unreachable!("the registry pairs each handler with its own component"))
}

/// Carries out an action's effect.
pub async fn complete_action<T: Serialize + Send + 'static>(effect: Effect<T>) -> HandlerOutcome {
    crate::host::action::complete(effect).await
}

/// Carries out an action's streamed effects.
pub fn complete_action_stream<T: Serialize + Send + 'static>(
    stream: EffectStream<T>,
) -> HandlerOutcome {
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
    _: &Dependencies,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    Ok(Arc::new(T::build()))
}

/// Checks a handler's reply type can be sent as JSON; the bound carries a readable error.
#[diagnostic::on_unimplemented(
    message = "the reply type `{Self}` cannot be sent as JSON",
    note = "derive `serde::Serialize` for `{Self}`"
)]
pub trait ReplyType: Serialize + Send + 'static {}
impl<T: Serialize + Send + 'static> ReplyType for T {}

/// Asserts at compile time that `T` can be a reply.
pub fn assert_reply<T: ReplyType>() {}

/// Checks a handler's body type can be read from JSON (and written, for the component client).
#[diagnostic::on_unimplemented(
    message = "the body type `{Self}` cannot be read from JSON",
    note = "derive `serde::Deserialize` and `serde::Serialize` for `{Self}` (the component client sends it as JSON)"
)]
pub trait BodyType: serde::de::DeserializeOwned + Serialize {}
impl<T: serde::de::DeserializeOwned + Serialize> BodyType for T {}

/// Asserts at compile time that `T` can be a body.
pub fn assert_body<T: BodyType>() {}
