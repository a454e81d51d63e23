//! gRPC: components that implement the methods of `.proto` services, served on the HTTP port.
//!
//! A crate puts its `.proto` files beside its sources and compiles them in `build.rs` with one
//! call of the `kalix-build` crate; `kalix_core::include_protos!()` then brings in the messages
//! (prost types whose JSON is the proto3 JSON mapping) and, for each service, a type with one
//! constant per method. A handler names the method it implements:
//!
//! ```ignore
//! kalix_core::include_protos!();
//! use com::example::fibonacci::{Fibonacci, Number};
//!
//! #[action]
//! impl FibonacciAction {
//!     #[grpc(Fibonacci::NextNumber)]
//!     async fn next_number(&self, number: Number) -> action::Effect<Number> { .. }
//! }
//! ```
//!
//! The constant's type, [`Method<Input, Output, Shape>`], carries the method's message types and
//! whether it streams, so a misspelled method, a wrong message type or a stream where the method
//! answers once is a compile error at the handler. An entity's id is the request message's field
//! named by the entity's `id` option.
//!
//! A request whose `content-type` is `application/grpc` is served as gRPC, with the limits,
//! timeouts, access checks, metrics and traces of HTTP routes; a method with a `google.api.http`
//! option is also served over HTTP/JSON (transcoding). The server reflection service (`v1` and
//! `v1alpha`) and the standard health service answer beside the components' services.
//!
//! How errors travel, [`status_code`]: an HTTP status of a [`CallError`](crate::CallError)
//! becomes the gRPC code that status corresponds to.

pub(crate) mod channel;
pub(crate) mod status;

use std::marker::PhantomData;

pub use channel::GrpcChannel;
pub use status::status_code;

pub use crate::registry::{DescriptorSet, MethodInfo};

/// What generated code names: the crates the messages and clients are written against, so a
/// crate with `.proto` files depends on `kalix-core` alone.
#[doc(hidden)]
pub mod __deps {
    pub use pbjson;
    pub use pbjson_types;
    pub use prost;
    pub use serde;
    pub use tonic;
    pub use tonic_prost;
}

/// The `google.protobuf` well-known types (`Empty`, `Timestamp`, ...), with the proto3 JSON
/// mapping; the messages `kalix-build` generates use these.
pub use pbjson_types as types;

/// A method answered with one message.
#[derive(Debug, Clone, Copy)]
pub struct Unary;
/// A method answered with a stream of messages.
#[derive(Debug, Clone, Copy)]
pub struct ServerStreaming;
/// A method that takes a stream of messages (not served yet: no handler shape matches it).
#[derive(Debug, Clone, Copy)]
pub struct ClientStreaming;
/// A method that takes and answers streams (not served yet: no handler shape matches it).
#[derive(Debug, Clone, Copy)]
pub struct BidiStreaming;

/// One method of a `.proto` service, as `kalix-build` generates it: a constant of the service's
/// type (`Fibonacci::NextNumber`) whose type names the request message `I`, the reply message
/// `O` and the shape `S` ([`Unary`], [`ServerStreaming`], ...).
pub struct Method<I, O, S> {
    info: &'static MethodInfo,
    types: PhantomData<fn(I) -> (O, S)>,
}

impl<I, O, S> Method<I, O, S> {
    /// The method described by `info` (generated code writes this).
    pub const fn new(info: &'static MethodInfo) -> Self {
        Self {
            info,
            types: PhantomData,
        }
    }

    /// What the runtime needs of it.
    pub const fn info(&self) -> &'static MethodInfo {
        self.info
    }
}

impl<I, O, S> Clone for Method<I, O, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O, S> Copy for Method<I, O, S> {}

impl<I, O, S> std::fmt::Debug for Method<I, O, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.info.path)
    }
}

/// Every registered descriptor set.
pub(crate) fn descriptor_sets() -> impl Iterator<Item = &'static [u8]> {
    inventory::iter::<DescriptorSet>().map(|set| set.bytes)
}

/// `bytes` decoded as the protobuf message `M`, as its proto3 JSON.
#[doc(hidden)]
pub fn decode_message<M>(bytes: &[u8]) -> Result<serde_json::Value, String>
where
    M: prost::Message + Default + serde::Serialize,
{
    let message =
        M::decode(bytes).map_err(|error| format!("the message does not decode: {error}"))?;
    serde_json::to_value(&message).map_err(|error| error.to_string())
}

/// A reply (JSON, as handlers write it) encoded as the protobuf message `M`.
#[doc(hidden)]
pub fn encode_message<M>(json: &[u8]) -> Result<Vec<u8>, String>
where
    M: prost::Message + serde::de::DeserializeOwned,
{
    let message: M = serde_json::from_slice(json).map_err(|error| error.to_string())?;
    Ok(message.encode_to_vec())
}

/// Brings in the messages and method constants `kalix-build` generated from the crate's `.proto`
/// files (in `build.rs`): one module per package (`com::example::fibonacci`).
///
/// ```ignore
/// pub mod proto {
///     kalix_core::include_protos!();
/// }
/// ```
#[macro_export]
macro_rules! include_protos {
    () => {
        include!(concat!(env!("OUT_DIR"), "/kalix_protos.rs"));
    };
}
