//! The maps: of counters, of registers, and of sets of values.

use serde::{Deserialize, Serialize};

use super::counter::Totals;
use super::{HasState, Local, replicated_data};
pub use crate::replicated_entity::causal::EntryKey as MapKey;
use crate::replicated_entity::causal::{Causal, Entries};

macro_rules! map_type {
    ($(#[$doc:meta])* $name:ident <$($param:ident),*>, $key:ty, $value:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(transparent, bound(serialize = "", deserialize = ""))]
        pub struct $name<$($param: MapKey),*> {
            state: Causal<Entries<$key, $value>>,
            #[serde(skip)]
            local: Local<Causal<Entries<$key, $value>>>,
        }

        impl<$($param: MapKey),*> Default for $name<$($param),*> {
            fn default() -> Self {
                Self {
                    state: Causal::default(),
                    local: Local::default(),
                }
            }
        }

        impl<$($param: MapKey),*> HasState for $name<$($param),*> {
            type Store = Entries<$key, $value>;
        }

        replicated_data!($name<$($param),*> where $($param: MapKey),*);
    };
}

map_type!(
    /// A map of counters: each key's counter counts every replica's changes. A removed key is
    /// absent until it is changed again (a change made concurrently with the removal, on
    /// another replica, keeps that replica's count).
    ///
    /// ```
    /// use kalix_core::replicated_entity::ReplicatedCounterMap;
    ///
    /// let cart = ReplicatedCounterMap::default().increment("apple".to_owned(), 3);
    /// assert_eq!(cart.get(&"apple".to_owned()), 3);
    /// assert!(cart.remove(&"apple".to_owned()).is_empty());
    /// ```
    ReplicatedCounterMap<K>, K, Totals
);

impl<K: MapKey> ReplicatedCounterMap<K> {
    /// The counter of `key` (0 if absent).
    pub fn get(&self, key: &K) -> i64 {
        Totals::value(self.state.store.of_key(key).map(|(_, totals)| totals))
    }

    /// The keys and their counters, in ascending order of key.
    pub fn entries(&self) -> Vec<(K, i64)> {
        self.keys()
            .into_iter()
            .map(|key| {
                let value = self.get(&key);
                (key, value)
            })
            .collect()
    }

    /// The keys present, in ascending order.
    pub fn keys(&self) -> Vec<K> {
        let mut keys: Vec<K> = self
            .state
            .store
            .iter()
            .map(|(key, _, _)| key.clone())
            .collect();
        keys.dedup();
        keys
    }

    /// Whether no key is present.
    pub fn is_empty(&self) -> bool {
        self.state.store.is_empty()
    }

    /// The map with `key`'s counter increased by `by` (decreased if negative).
    pub fn increment(&self, key: K, by: i64) -> Self {
        let me = self.me();
        let mine = self.state.store.get(&key, me).copied().unwrap_or_default();
        self.changed(self.state.put_delta(me, key, mine.plus(by), |_, _| false))
    }

    /// The map with `key`'s counter decreased by `by`.
    pub fn decrement(&self, key: K, by: i64) -> Self {
        let me = self.me();
        let mine = self.state.store.get(&key, me).copied().unwrap_or_default();
        self.changed(self.state.put_delta(me, key, mine.minus(by), |_, _| false))
    }

    /// The map without `key`.
    pub fn remove(&self, key: &K) -> Self {
        self.changed(self.state.remove_delta(key))
    }
}

map_type!(
    /// A map of registers: each key holds one value, and a write replaces the values it saw
    /// (concurrent writes: the later by the system's clock wins).
    ///
    /// ```
    /// use kalix_core::replicated_entity::ReplicatedRegisterMap;
    ///
    /// let colors = ReplicatedRegisterMap::default().set("sky".to_owned(), "blue".to_owned());
    /// assert_eq!(colors.get(&"sky".to_owned()), Some(&"blue".to_owned()));
    /// ```
    ReplicatedRegisterMap<K, V>, K, (u64, V)
);

impl<K: MapKey, V: MapKey> ReplicatedRegisterMap<K, V> {
    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.state
            .store
            .of_key(key)
            .max_by_key(|(replica, (clock, _))| (*clock, *replica))
            .map(|(_, (_, value))| value)
    }

    /// The keys present, in ascending order.
    pub fn keys(&self) -> Vec<K> {
        let mut keys: Vec<K> = self
            .state
            .store
            .iter()
            .map(|(key, _, _)| key.clone())
            .collect();
        keys.dedup();
        keys
    }

    /// The map with `key` set to `value`.
    pub fn set(&self, key: K, value: V) -> Self {
        let seen = self
            .state
            .store
            .of_key(&key)
            .map(|(_, (clock, _))| *clock)
            .max()
            .unwrap_or(0);
        let clock =
            crate::timers::Clock::now_ms(&crate::timers::SystemClock).max(seen.saturating_add(1));
        self.changed(
            self.state
                .put_delta(self.me(), key, (clock, value), |_, _| true),
        )
    }

    /// The map without `key`.
    pub fn remove(&self, key: &K) -> Self {
        self.changed(self.state.remove_delta(key))
    }
}

map_type!(
    /// A map from keys to sets of values (each set add-wins, as [`ReplicatedSet`](super::ReplicatedSet)).
    ///
    /// ```
    /// use kalix_core::replicated_entity::ReplicatedMultiMap;
    ///
    /// let tags = ReplicatedMultiMap::default()
    ///     .put("post-1".to_owned(), "rust".to_owned())
    ///     .put("post-1".to_owned(), "crdt".to_owned());
    /// assert_eq!(tags.get(&"post-1".to_owned()), ["crdt".to_owned(), "rust".to_owned()]);
    /// ```
    ReplicatedMultiMap<K, V>, (K, V), ()
);

impl<K: MapKey, V: MapKey> ReplicatedMultiMap<K, V> {
    /// The values of `key`, in ascending order.
    pub fn get(&self, key: &K) -> Vec<V> {
        let mut values: Vec<V> = self
            .state
            .store
            .iter()
            .filter(|((k, _), _, _)| k == key)
            .map(|((_, value), _, _)| value.clone())
            .collect();
        values.dedup();
        values
    }

    /// The keys with at least one value, in ascending order.
    pub fn keys(&self) -> Vec<K> {
        let mut keys: Vec<K> = self
            .state
            .store
            .iter()
            .map(|((key, _), _, _)| key.clone())
            .collect();
        keys.dedup();
        keys
    }

    /// The map with `value` added to `key`'s values.
    pub fn put(&self, key: K, value: V) -> Self {
        self.changed(
            self.state
                .put_delta(self.me(), (key, value), (), |_, _| true),
        )
    }

    /// The map with `value` removed from `key`'s values.
    pub fn remove(&self, key: K, value: V) -> Self {
        self.changed(self.state.remove_delta(&(key, value)))
    }

    /// The map without `key` and its values.
    pub fn remove_all(&self, key: &K) -> Self {
        self.get(key)
            .into_iter()
            .fold(self.clone(), |map, value| map.remove(key.clone(), value))
    }
}
