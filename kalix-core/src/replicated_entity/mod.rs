//! Replicated entities: keyed state that every process of the service changes at once, as a
//! conflict-free replicated data type, merged without conflicts.
//!
//! Put `#[replicated_entity(type_id = "counter", id = "counter_id")]` on an `impl` block whose
//! handlers take the entity's data (one of the types below) as `&Data` and return an
//! [`Effect<Data, Reply>`]. The data is immutable: a handler changes it with its methods (each
//! returns a new value) and returns `Effect::update(new)`.
//!
//! | type | what it holds |
//! |---|---|
//! | [`ReplicatedCounter`] | a number every replica increments and decrements |
//! | [`ReplicatedRegister<T>`] | one value; concurrent writes: the greater [`Clock`] wins |
//! | [`ReplicatedSet<T>`] | elements; an add wins over a concurrent remove |
//! | [`ReplicatedCounterMap<K>`] | a counter per key |
//! | [`ReplicatedRegisterMap<K, V>`] | a register per key |
//! | [`ReplicatedMultiMap<K, V>`] | a set of values per key |
//! | [`ReplicatedMap<K, D>`] | replicated data per key (a counter, a set, another map..) |
//! | [`ReplicatedVote`] | each replica's vote: at least one, majority, unanimous |
//!
//! **How it runs.** Each process is a replica with its own id (on SQLite, whose file one process
//! owns, one replica). Commands to one id run one at a time on each process, and every process
//! runs them at once: a process writes only its own replica's row of the entity (the data as it
//! has it), so writes of different processes never conflict, and loading an entity merges every
//! replica's row. On PostgreSQL a write tells the other processes as it commits (`NOTIFY`); each
//! reads the entity's rows again and merges them into its copy in memory. A reply to an update
//! is sent once it is durable on this process ([`WriteConsistency::Local`]), or once a majority
//! or all of the live processes have taken it in (`Majority`, `All`; a timeout answers 503, the
//! update applied here and still to reach the others).
//!
//! **What a read may miss.** A read on one process sees the updates of the others once it has
//! heard of them: at once after a `Majority` or `All` update, usually within milliseconds after a
//! `Local` one (a process whose listening connection was lost reloads every copy when it is
//! back). Use this kind where many processes change one entity at once (counters, presence,
//! votes, carts many devices edit) and a read may lag; use a value or event-sourced entity where
//! a command must see every earlier one.
//!
//! **Delete** is for good: the entity's rows become a tombstone that wins every merge, and
//! later commands to its id are refused (a read with 404, a change with 400).
//!
//! ```
//! use kalix_core::prelude::*;
//! use kalix_core::replicated_entity::ReplicatedCounter;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! pub struct By {
//!     pub value: i64,
//! }
//!
//! #[derive(Default)]
//! pub struct LikesEntity;
//!
//! #[replicated_entity(type_id = "likes", id = "post_id")]
//! impl LikesEntity {
//!     #[post("/likes/<post_id>")]
//!     fn like(&self, likes: &ReplicatedCounter, #[body] by: By) -> replicated_entity::Effect<ReplicatedCounter, String> {
//!         replicated_entity::Effect::update(likes.increment(by.value)).then_reply("Ok".to_owned())
//!     }
//!
//!     #[get("/likes/<post_id>")]
//!     fn get(&self, likes: &ReplicatedCounter) -> replicated_entity::Effect<ReplicatedCounter, i64> {
//!         replicated_entity::Effect::reply(likes.value())
//!     }
//! }
//! ```

pub(crate) mod causal;
mod component;
pub(crate) mod data;
mod effect;

pub use causal::ReplicaId;
pub use component::ReplicatedEntityComponent;
pub use data::{
    Clock, MapKey, Nested, ReplicatedCounter, ReplicatedCounterMap, ReplicatedData, ReplicatedMap,
    ReplicatedMultiMap, ReplicatedRegister, ReplicatedRegisterMap, ReplicatedSet, ReplicatedVote,
};
pub use effect::{DataChange, Effect, OnSuccess, Ran, Replica, WriteConsistency};

/// The context of one command to a replicated entity: its id, the metadata, and a client to
/// build calls for `then_forward` and side effects (the same as a value entity's).
pub type ReplicatedEntityContext = crate::value_entity::ValueEntityContext;
