//! The replicated data types an entity's state is one of. Values are immutable: a mutator
//! returns a new value, which carries its change (its *delta*) for the runtime to write.
//!
//! Each type is a conflict-free replicated data type: every process changes its own replica,
//! and [`ReplicatedData::merge`] joins replicas in any order, any number of times, to the same
//! state.

mod counter;
mod map;
mod maps;
#[cfg(test)]
mod properties;
mod register;
mod set;
mod vote;

pub use counter::ReplicatedCounter;
pub use map::ReplicatedMap;
pub use maps::{MapKey, ReplicatedCounterMap, ReplicatedMultiMap, ReplicatedRegisterMap};
pub use register::{Clock, ReplicatedRegister};
pub use set::ReplicatedSet;
pub use vote::ReplicatedVote;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::causal::ReplicaId;

/// A replicated data type: the state of a `#[replicated_entity]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a replicated data type",
    label = "the data of a replicated entity",
    note = "a replicated entity's state is one of `ReplicatedCounter`, `ReplicatedRegister<T>`, `ReplicatedSet<T>`, `ReplicatedCounterMap<K>`, `ReplicatedRegisterMap<K, V>`, `ReplicatedMultiMap<K, V>`, `ReplicatedMap<K, D>`, `ReplicatedVote` (in `kalix_core::replicated_entity`)"
)]
pub trait ReplicatedData:
    Clone + Default + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Joins another replica's state into this one. Commutative, associative and idempotent.
    fn merge(&mut self, other: &Self);

    /// The replica whose changes this value makes (set by the runtime on the state a handler
    /// gets); `None` for a value built by hand.
    #[doc(hidden)]
    fn replica(&self) -> Option<ReplicaId>;

    /// Makes this value change replica `replica`.
    #[doc(hidden)]
    fn set_replica(&mut self, replica: ReplicaId);

    /// The changes made to this value since it was handed out: a state holding only them.
    #[doc(hidden)]
    fn delta(&self) -> Option<Self>;
}

/// What a value carries beside its state: whose replica it changes and what it changed. Never
/// stored, and equal for any two values (equality is the state's).
#[derive(Clone, Debug)]
pub(crate) struct Local<S> {
    pub replica: Option<ReplicaId>,
    pub delta: Option<Box<S>>,
}

impl<S> Default for Local<S> {
    fn default() -> Self {
        Self {
            replica: None,
            delta: None,
        }
    }
}

impl<S> PartialEq for Local<S> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The replica a hand-built value changes: none of the service's (the runtime refuses its
/// update).
pub(crate) const NO_REPLICA: ReplicaId = 0;

/// Implements [`ReplicatedData`] for a type with fields `state` (with a `merge`) and `local`,
/// and its `changed` (a new value with a delta joined in).
macro_rules! replicated_data {
    ($ty:ident $(<$($param:ident),*>)? where $($bounds:tt)*) => {
        impl$(<$($param),*>)? $crate::replicated_entity::ReplicatedData for $ty$(<$($param),*>)?
        where $($bounds)*
        {
            fn merge(&mut self, other: &Self) {
                self.state.merge(&other.state);
            }

            fn replica(&self) -> ::core::option::Option<$crate::replicated_entity::ReplicaId> {
                self.local.replica
            }

            fn set_replica(&mut self, replica: $crate::replicated_entity::ReplicaId) {
                self.local = $crate::replicated_entity::data::Local {
                    replica: Some(replica),
                    delta: None,
                };
            }

            fn delta(&self) -> ::core::option::Option<Self> {
                self.local.delta.as_ref().map(|delta| Self {
                    state: (**delta).clone(),
                    local: ::core::default::Default::default(),
                })
            }
        }

        impl$(<$($param),*>)? $crate::replicated_entity::data::Nested for $ty$(<$($param),*>)?
        where $($bounds)*
        {
            fn of_causal(
                causal: $crate::replicated_entity::causal::Causal<Self::Store>,
                replica: ::core::option::Option<$crate::replicated_entity::ReplicaId>,
            ) -> Self {
                Self {
                    state: causal,
                    local: $crate::replicated_entity::data::Local { replica, delta: None },
                }
            }

            fn causal(&self) -> &$crate::replicated_entity::causal::Causal<Self::Store> {
                &self.state
            }

            fn delta_causal(&self) -> ::core::option::Option<&$crate::replicated_entity::causal::Causal<Self::Store>> {
                self.local.delta.as_deref()
            }
        }

        impl$(<$($param),*>)? $ty$(<$($param),*>)?
        where $($bounds)*
        {
            /// This value with `delta` applied and recorded as a change.
            fn changed(&self, delta: $crate::replicated_entity::causal::Causal<<Self as $crate::replicated_entity::data::HasState>::Store>) -> Self {
                let mut next = self.clone();
                next.state.merge(&delta);
                let mut recorded = next.local.delta.take().map_or(delta.clone(), |d| *d);
                recorded.merge(&delta);
                next.local.delta = Some(Box::new(recorded));
                next
            }

            /// The replica this value changes.
            #[allow(dead_code)]
            fn me(&self) -> $crate::replicated_entity::ReplicaId {
                self.local.replica.unwrap_or($crate::replicated_entity::data::NO_REPLICA)
            }
        }
    };
}
pub(crate) use replicated_data;

/// The store inside a data type's causal state (what its deltas are made of).
#[doc(hidden)]
pub trait HasState {
    type Store: crate::replicated_entity::causal::DotStore;
}

/// A data type whose state is a causal store with a context: what a [`ReplicatedMap`] holds as
/// values, sharing the map's context.
#[doc(hidden)]
pub trait Nested: ReplicatedData + HasState {
    /// A value of `causal`, changing `replica`.
    #[doc(hidden)]
    fn of_causal(
        causal: crate::replicated_entity::causal::Causal<Self::Store>,
        replica: Option<ReplicaId>,
    ) -> Self;
    /// Its state.
    #[doc(hidden)]
    fn causal(&self) -> &crate::replicated_entity::causal::Causal<Self::Store>;
    /// Its changes since it was handed out.
    #[doc(hidden)]
    fn delta_causal(&self) -> Option<&crate::replicated_entity::causal::Causal<Self::Store>>;
}
