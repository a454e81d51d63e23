//! Event-sourced entities: state rebuilt from a journal of events. A command emits events; one
//! event handler folds each event into the state; snapshots bound how much is replayed.
//!
//! Put `#[event_sourced_entity(type_id = "..", id = "..")]` on an `impl` block. Command handlers
//! are synchronous and pure, like a value entity's, and return
//! [`Effect<State, Event, Reply>`]. Exactly one method marked `#[event_handler]` applies an event:
//! `fn apply(&self, state: State, event: &Event) -> State`; a `match` over the event enum there is
//! checked for exhaustiveness by the compiler.
//!
//! The event type belongs to its entity: `Effect::emit_event(event).then_reply(|state| ..)` knows
//! the state's type from the event's, so one event enum serves one entity type.
//!
//! Each event is stored with its serde tag as its type name (`ItemAdded` for
//! `Event::ItemAdded { .. }`). Renaming a Rust variant while keeping `#[serde(rename = "OldName")]`
//! keeps old journals replayable; renaming the tag breaks them, on purpose.
//!
//! ```
//! use kalix_core::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! pub enum CounterEvent {
//!     Increased { by: i64 },
//!     Reset,
//! }
//!
//! #[derive(Default)]
//! pub struct Counter;
//!
//! #[event_sourced_entity(type_id = "counter", id = "counter_id")]
//! impl Counter {
//!     #[post("/counter/<counter_id>/increase/<by>")]
//!     fn increase(&self, _value: &i64, by: i64) -> event_sourced_entity::Effect<i64, CounterEvent, String> {
//!         event_sourced_entity::Effect::emit_event(CounterEvent::Increased { by })
//!             .then_reply(|value| value.to_string())
//!     }
//!
//!     #[event_handler]
//!     fn apply(&self, value: i64, event: &CounterEvent) -> i64 {
//!         match event {
//!             CounterEvent::Increased { by } => value + by,
//!             CounterEvent::Reset => 0,
//!         }
//!     }
//! }
//! ```

pub(crate) mod applied;
mod component;
mod context;
mod effect;

pub(crate) use applied::{deleted_error, fold};
pub use component::{EntityEvent, EventSourcedComponent, JsonMigration};
pub(crate) use component::{current_event_json, read_event, split_type_name};
pub use context::EventSourcedEntityContext;
pub use effect::{Effect, OnSuccess, Then};
