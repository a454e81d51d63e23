//! Value entities: keyed, durable state; a command sees the current state and returns an effect
//! that may replace or delete it.
//!
//! Put `#[value_entity(type_id = "counter", id = "counter_id")]` on an `impl` block. Each route
//! contains the id parameter (`<counter_id>`). Handlers are synchronous and pure: they take
//! `&self`, the current state (`&State`), then path, query, header and body parameters as actions
//! do, and optionally `&ValueEntityContext`; they return a [`Effect<State, Reply>`].
//!
//! Commands to one id run one at a time, in arrival order; different ids run in parallel. A reply
//! to a command that changed the state is sent only once the change is committed.
//!
//! ```
//! use kalix_core::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Serialize, Deserialize)]
//! pub struct Counter {
//!     pub value: i64,
//! }
//!
//! #[derive(Default)]
//! pub struct CounterEntity;
//!
//! #[value_entity(type_id = "counter", id = "counter_id")]
//! impl CounterEntity {
//!     #[post("/counter/<counter_id>/increase/<by>")]
//!     fn increase(&self, counter: &Counter, by: i64) -> value_entity::Effect<Counter, i64> {
//!         let value = counter.value + by;
//!         value_entity::Effect::update_state(Counter { value }).then_reply(value)
//!     }
//!
//!     #[get("/counter/<counter_id>")]
//!     fn get(&self, counter: &Counter) -> value_entity::Effect<Counter, i64> {
//!         value_entity::Effect::reply(counter.value)
//!     }
//! }
//! ```

mod component;
mod context;
mod effect;

pub use component::ValueEntityComponent;
pub(crate) use component::{current_state_json, stored_state_json};
pub use context::ValueEntityContext;
pub use effect::{Effect, OnSuccess, StateChange};
