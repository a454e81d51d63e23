//! `ReplicatedMap`: a map whose values are replicated data themselves.

use serde::{Deserialize, Serialize};

use super::maps::MapKey;
use super::{HasState, Local, Nested, replicated_data};
use crate::replicated_entity::causal::{Causal, DotContext, DotStore, MapStore};

/// A map from keys to replicated data (counters, registers, sets, other maps): each value
/// merges as its type does. Removing a key removes the value as this replica has seen it; a
/// change made concurrently on another replica survives, on its own.
///
/// ```
/// use kalix_core::replicated_entity::{ReplicatedCounter, ReplicatedMap};
///
/// let scores: ReplicatedMap<String, ReplicatedCounter> = ReplicatedMap::default()
///     .update("alice".to_owned(), |score: ReplicatedCounter| score.increment(3))
///     .update("bob".to_owned(), |score| score.increment(1));
/// assert_eq!(scores.get(&"alice".to_owned()).map(|s| s.value()), Some(3));
/// assert_eq!(scores.keys(), ["alice".to_owned(), "bob".to_owned()]);
/// assert!(scores.remove(&"bob".to_owned()).get(&"bob".to_owned()).is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent, bound(serialize = "", deserialize = ""))]
pub struct ReplicatedMap<K: MapKey, D: Nested> {
    state: Causal<MapStore<K, D::Store>>,
    #[serde(skip)]
    local: Local<Causal<MapStore<K, D::Store>>>,
}

impl<K: MapKey, D: Nested> Default for ReplicatedMap<K, D> {
    fn default() -> Self {
        Self {
            state: Causal::default(),
            local: Local::default(),
        }
    }
}

impl<K: MapKey, D: Nested> HasState for ReplicatedMap<K, D> {
    type Store = MapStore<K, D::Store>;
}

replicated_data!(ReplicatedMap<K, D> where K: MapKey, D: Nested);

impl<K: MapKey, D: Nested> ReplicatedMap<K, D> {
    /// The value of `key`, to read or to change and give to [`ReplicatedMap::update`]'s
    /// closure; `None` if absent.
    pub fn get(&self, key: &K) -> Option<D> {
        self.state
            .store
            .0
            .get(key)
            .map(|store| self.value_of(store.clone()))
    }

    fn value_of(&self, store: D::Store) -> D {
        D::of_causal(
            Causal {
                store,
                context: self.state.context.clone(),
            },
            self.local.replica,
        )
    }

    /// The keys present, in ascending order.
    pub fn keys(&self) -> Vec<K> {
        self.state.store.0.keys().cloned().collect()
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &K) -> bool {
        self.state.store.0.contains_key(key)
    }

    /// How many keys are present.
    pub fn len(&self) -> usize {
        self.state.store.0.len()
    }

    /// Whether no key is present.
    pub fn is_empty(&self) -> bool {
        self.state.store.0.is_empty()
    }

    /// The map with `key`'s value changed by `change` (which gets the value, or an empty one).
    pub fn update(&self, key: K, change: impl FnOnce(D) -> D) -> Self {
        let current = self.state.store.0.get(&key).cloned().unwrap_or_default();
        let changed = change(self.value_of(current));
        let Some(delta) = changed.delta_causal() else {
            return self.clone();
        };
        let mut store = MapStore::default();
        store.0.insert(key, delta.store.clone());
        self.changed(Causal {
            store,
            context: delta.context.clone(),
        })
    }

    /// The map without `key`.
    pub fn remove(&self, key: &K) -> Self {
        let dots = self
            .state
            .store
            .0
            .get(key)
            .map(DotStore::dots)
            .unwrap_or_default();
        self.changed(Causal {
            store: MapStore::default(),
            context: DotContext::of(dots),
        })
    }
}
