//! What generated code reaches, under one path users never name. Not a public API: it changes
//! with the macros. Split by kind, as serde splits its `__private`; everything is reached as
//! `__private::name`.

mod action;
mod event_sourced;
mod replicated_entity;
mod topics;
mod value_entity;
mod workflow;

pub use action::*;
pub use event_sourced::*;
pub use replicated_entity::*;
pub use topics::*;
pub use value_entity::*;
pub use workflow::*;

pub use futures_util::future::BoxFuture;
pub use inventory;
pub use std::any::Any;
pub use std::borrow::Cow;
pub use std::sync::Arc;

pub use crate::access::{Acl, ClaimCheck, ClaimRule, JwtRule, Matcher};
pub use crate::call::Call;
pub use crate::client::ComponentClient;
pub use crate::dependencies::{Dependencies, MissingDependency};
pub use crate::host::replicated_entity::{Replicas, ReplicatedEntityRuntime};
pub use crate::host::value_entity::{StateRow, ValueEntityRuntime};
pub use crate::invocation::Invocation;
pub use crate::openapi::schema::{DescribedByName, DescribedBySchema, SchemaFn, SchemaProbe};
pub use crate::outcome::HandlerOutcome;
pub use crate::registry::{
    AccessRules, ApiParam, ApiParamIn, ComponentDescriptor, ComponentKind, HandlerDescriptor,
    HttpMethod, PublishTarget, RouteApi, RouteDescriptor, RouteSegment, SubscriptionDescriptor,
    SubscriptionSource, TopicSubscriptionDescriptor, Trigger,
};
pub use crate::registry::{
    RowUpdate, ViewDescriptor, ViewSourceDescriptor, ViewUpdateDescriptor, ViewUpdateInput,
};
pub use crate::runtime::ComponentEnv;
pub use crate::status::ErrorCode;
use crate::value_entity::ValueEntityComponent;
pub use crate::view::private::*;
pub use crate::view::query::{ResultShape, ViewQuery};
pub use crate::view::shape::shape_of;
pub use schemars::{Schema, SchemaGenerator};
pub use serde_json::{Map as JsonMap, Value as JsonValue};

use serde::Serialize;

use crate::action::{Effect, EffectStream};

/// The instance of a component, back from the registry's type-erased form.
pub fn downcast<T: Any + Send + Sync>(instance: Arc<dyn Any + Send + Sync>) -> Arc<T> {
    instance
        .downcast::<T>()
        .unwrap_or_else(|_| unreachable!("the registry pairs each handler with its own component"))
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

/// Decodes a gRPC handler's request message (HTTP transcoding sets path and query values as
/// its fields); the bound carries a readable error.
pub fn grpc_message<T: BodyType>(
    invocation: &mut Invocation,
    type_name: &str,
) -> Result<T, crate::CallError> {
    invocation.message(type_name)
}

/// `Self` is the request message of the gRPC method `M`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the request message of this gRPC method",
    label = "not the method's request message",
    note = "the method's constant is a `{M}`: its first type is the request message the handler takes"
)]
pub trait GrpcRequest<M> {}
impl<I, O, S> GrpcRequest<crate::grpc::Method<I, O, S>> for I {}

/// `Self` is the reply of the unary gRPC method `M`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the reply of a unary gRPC method here",
    label = "not what this method replies with",
    note = "the method's constant is a `{M}`: a `Unary` method's handler returns `Effect<..>` of its second type; a `ServerStreaming` method's returns `action::EffectStream<..>`"
)]
pub trait GrpcUnaryReply<M> {}
impl<I, O> GrpcUnaryReply<crate::grpc::Method<I, O, crate::grpc::Unary>> for O {}

/// `Self` is each reply of the server-streaming gRPC method `M`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the reply of a server-streaming gRPC method here",
    label = "not what this method streams",
    note = "the method's constant is a `{M}`: a `ServerStreaming` method's handler returns `action::EffectStream<..>` of its second type; a `Unary` method's returns `Effect<..>`"
)]
pub trait GrpcStreamedReply<M> {}
impl<I, O> GrpcStreamedReply<crate::grpc::Method<I, O, crate::grpc::ServerStreaming>> for O {}

/// Compiles only if `T` is the request message of `method`.
pub const fn grpc_request<T: GrpcRequest<M>, M>(_method: &M) {}

/// Compiles only if `method` answers once, with `T`.
pub const fn grpc_unary_reply<T: GrpcUnaryReply<M>, M>(_method: &M) {}

/// Compiles only if `method` answers with a stream of `T`.
pub const fn grpc_streamed_reply<T: GrpcStreamedReply<M>, M>(_method: &M) {}

/// The entity id a gRPC command names: its request message's id field, as text.
pub fn grpc_entity_id<T: std::fmt::Display>(field: &T) -> String {
    field.to_string()
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

use crate::event_sourced_entity::EventSourcedComponent;

/// The reply type of an entity's effect, so a handler may return a type alias of its effect
/// (`type Effect<R> = value_entity::Effect<Customer, R>`) and the generated client still knows
/// what the call yields.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an entity's effect",
    label = "an entity handler returns its kind's `Effect`",
    note = "a value entity handler returns `value_entity::Effect<State, Reply>`, an event-sourced one `event_sourced_entity::Effect<State, Event, Reply>`, a replicated one `replicated_entity::Effect<Data, Reply>`, or a type alias of one"
)]
pub trait EffectReply {
    /// What the handler replies with.
    type Reply;
}

impl<S, R> EffectReply for crate::value_entity::Effect<S, R> {
    type Reply = R;
}

impl<D, R> EffectReply for crate::replicated_entity::Effect<D, R> {
    type Reply = R;
}

impl<S, E, R> EffectReply for crate::event_sourced_entity::Effect<S, E, R> {
    type Reply = R;
}

/// Checks that a path or query parameter's type is a [`crate::UrlParam`]. The generated parsing
/// and client code both call it first, spanned at the parameter's type, so a type that is not
/// one is reported once there (the compiler drops the identical report and the ones it implies).
pub fn assert_url_param<T: crate::UrlParam>() {}
