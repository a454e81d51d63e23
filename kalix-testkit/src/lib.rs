//! Testkits for `kalix-core` services.
//!
//! - [`ActionTestKit`] calls an action's handler directly, without a runtime, and returns an
//!   [`ActionResult`] describing its effect: the reply, the error and its status, the forward's
//!   target, the side effects. The handler and its asynchronous replies run; forwards and side
//!   effects are recorded, not executed.
//! - [`ValueEntityTestKit`] runs a value entity's command handlers against an in-memory state,
//!   returning a [`ValueEntityResult`] with the reply or error and the state change.
//! - [`EventSourcedTestKit`] runs an event-sourced entity's command handlers, applying their
//!   events through its event handler, and returns an [`EventSourcedResult`] with the events.
//! - [`ServiceProcess`] runs a service binary as a child process, for signal, SIGKILL and
//!   multi-process tests.
//! - [`store_conformance`] is the suite every storage backend must pass.
//! - [`TestKit`] runs the whole service in-process on a free port and gives an HTTP client with
//!   its base URL and a component client.
//!
//! The [`guide`] shows each of them at work.

#![warn(missing_docs)]

#[doc = include_str!("guide.md")]
pub mod guide {}

mod access;
mod action;
mod counting_store;
mod event_sourced;
mod eventually;
mod grpc;

mod http_transport;

mod integration;
mod openapi;
mod otlp;
mod process;
mod replicated_entity;
mod result;
mod spans;
mod stubs;
mod timers;
mod topics;

pub mod store_conformance;
mod value_entity;
mod workflow;

pub use access::ServiceClient;
pub use action::{ActionResult, ActionTestKit};
pub use counting_store::CountingStore;
pub use event_sourced::{Emitted, EventSourcedResult, EventSourcedTestKit};
pub use eventually::{EVENTUALLY, eventually, eventually_within};
pub use grpc::grpc_channel;
pub use http_transport::HttpTransport;
pub use integration::{TestKit, TestKitBuilder};
pub use openapi::OPENAPI_VALIDATOR_VARIABLE;
pub use otlp::OtlpCollector;
pub use process::ServiceProcess;
pub use replicated_entity::{ReplicaSimulator, ReplicatedEntityResult, ReplicatedEntityTestKit};
pub use result::EffectResult;
pub use spans::{RecordedSpan, Spans};
pub use topics::{IncomingMessages, OutgoingMessages, ReceivedMessage};
pub use value_entity::{ValueEntityResult, ValueEntityTestKit};
pub use workflow::WorkflowTestKit;

/// Renamed [`ActionTestKit`]: every testkit is spelled `TestKit`.
#[deprecated(note = "renamed `ActionTestKit`")]
pub type ActionTestkit<A> = ActionTestKit<A>;
/// Renamed [`ValueEntityTestKit`]: every testkit is spelled `TestKit`.
#[deprecated(note = "renamed `ValueEntityTestKit`")]
pub type ValueEntityTestkit<E> = ValueEntityTestKit<E>;
/// Renamed [`EventSourcedTestKit`]: every testkit is spelled `TestKit`.
#[deprecated(note = "renamed `EventSourcedTestKit`")]
pub type EventSourcedTestkit<E> = EventSourcedTestKit<E>;
/// Renamed [`WorkflowTestKit`]: every testkit is spelled `TestKit`.
#[deprecated(note = "renamed `WorkflowTestKit`")]
pub type WorkflowTestkit<W> = WorkflowTestKit<W>;

/// The HTTP client [`TestKit`] hands out, re-exported so tests need no extra dependency.
pub use reqwest;
