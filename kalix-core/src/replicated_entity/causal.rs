//! The causal core every replicated data type is built on: replicas, dots, the causal context,
//! and entries tagged with the dot of the write that made them.
//!
//! Each process of a service is a replica with its own id. Every change a replica makes is one
//! *dot* (the replica and its next counter); the *causal context* is the set of dots a state has
//! seen. A state keeps, per key and replica, that replica's latest entry with its dot. Merging
//! two states keeps, for each (key, replica):
//! - the entry with the later dot, where both have one (a replica's dots are totally ordered);
//! - an entry only one side has, unless the other side has seen its dot (then the other side
//!   removed it, or replaced it and the replacement was removed).
//!
//! So a removal removes exactly the entries its replica had seen, and an add it had not seen
//! survives it (add wins). The merge is commutative, associative and idempotent (the property
//! tests of every data type check it), which is what lets every process write at once and
//! still converge.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The id of a replica: one process of the service (one for the whole SQLite store).
pub type ReplicaId = u64;

/// One change of one replica: the replica and its counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dot {
    /// The replica that made the change.
    pub replica: ReplicaId,
    /// Its counter: 1 for the replica's first change of this entity, then 2, ...
    pub counter: u64,
}

/// The dots a state has seen: per replica the counters up to a bound, and those seen beyond it
/// (a delta carries single dots).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DotContext {
    /// Per replica: every counter up to this one was seen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", with = "pairs")]
    seen: BTreeMap<ReplicaId, u64>,
    /// Dots seen beyond the contiguous bound of their replica.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    cloud: BTreeSet<Dot>,
}

impl DotContext {
    /// Whether `dot` was seen.
    pub fn contains(&self, dot: Dot) -> bool {
        self.seen
            .get(&dot.replica)
            .is_some_and(|&bound| dot.counter <= bound)
            || self.cloud.contains(&dot)
    }

    /// Records every dot `other` has seen.
    pub fn join(&mut self, other: &DotContext) {
        for (&replica, &bound) in &other.seen {
            let mine = self.seen.entry(replica).or_insert(0);
            *mine = (*mine).max(bound);
        }
        self.cloud.extend(other.cloud.iter().copied());
        self.compact();
    }

    /// Moves dots that continue their replica's contiguous bound into it.
    fn compact(&mut self) {
        let cloud = std::mem::take(&mut self.cloud);
        for dot in cloud {
            let bound = self.seen.entry(dot.replica).or_insert(0);
            if dot.counter == *bound + 1 {
                *bound = dot.counter;
            } else if dot.counter > *bound {
                self.cloud.insert(dot);
            }
        }
        // The cloud is sorted by replica, then counter: one pass in order moves each run.
    }

    /// The dot `replica`'s next change will have (not recorded).
    pub fn peek_next(&self, replica: ReplicaId) -> Dot {
        let bound = self.seen.get(&replica).copied().unwrap_or(0);
        let beyond = self
            .cloud
            .range(
                Dot {
                    replica,
                    counter: 0,
                }..=Dot {
                    replica,
                    counter: u64::MAX,
                },
            )
            .next_back()
            .map_or(0, |dot| dot.counter);
        Dot {
            replica,
            counter: bound.max(beyond) + 1,
        }
    }

    /// A context of the given dots alone (a delta's).
    pub fn of(dots: impl IntoIterator<Item = Dot>) -> Self {
        let mut context = Self::default();
        for dot in dots {
            context.cloud.insert(dot);
        }
        context.compact();
        context
    }
}

/// What a causal state keeps beside its context: entries tagged with dots, possibly nested in
/// maps. Joining two takes each side's context, which says what each has seen.
pub trait DotStore:
    Clone + Default + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Joins `other` (whose context is `theirs`) into this store (whose context is `ours`);
    /// the contexts are joined by the caller, after.
    fn join(&mut self, ours: &DotContext, other: &Self, theirs: &DotContext);
    /// Every dot it holds.
    fn dots(&self) -> Vec<Dot>;
    /// Whether it holds nothing.
    fn is_empty(&self) -> bool;
}

/// A causal state: a store and the context of dots it has seen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "S: DotStore", deserialize = "S: DotStore"))]
pub struct Causal<S> {
    #[serde(default, skip_serializing_if = "DotStore::is_empty")]
    pub store: S,
    #[serde(default)]
    pub context: DotContext,
}

impl<S: DotStore> Causal<S> {
    /// Joins `other` into this state.
    pub fn merge(&mut self, other: &Self) {
        self.store.join(&self.context, &other.store, &other.context);
        self.context.join(&other.context);
    }

    /// The delta that removes everything this state holds.
    pub fn clear_delta(&self) -> Self {
        Self {
            store: S::default(),
            context: DotContext::of(self.store.dots()),
        }
    }
}

impl<K: EntryKey, V: EntryValue> Causal<Entries<K, V>> {
    /// The delta that sets `replica`'s entry of `key` to `value`, superseding the entries of
    /// `key` this state has for which `supersedes` holds (by replica), and always
    /// `replica`'s own.
    ///
    /// The delta's context holds the dots of the entries it supersedes, so the supersession
    /// holds wherever the delta arrives, in whatever order.
    pub fn put_delta(
        &self,
        replica: ReplicaId,
        key: K,
        value: V,
        supersedes: impl Fn(ReplicaId, &V) -> bool,
    ) -> Self {
        let dot = self.context.peek_next(replica);
        let superseded: Vec<Dot> = self
            .store
            .map
            .range((key.clone(), ReplicaId::MIN)..=(key.clone(), ReplicaId::MAX))
            .filter(|((_, by), (_, old))| *by == replica || supersedes(*by, old))
            .map(|((_, by), (counter, _))| Dot {
                replica: *by,
                counter: *counter,
            })
            .collect();
        Self {
            context: DotContext::of(superseded.into_iter().chain([dot])),
            store: Entries::one(key, dot, value),
        }
    }

    /// The delta that removes every entry of `key` this state has.
    pub fn remove_delta(&self, key: &K) -> Self {
        Self {
            store: Entries::default(),
            context: DotContext::of(self.store.dots_of(key)),
        }
    }
}

/// What an entry's key needs: what every key (and every value of a multi-map or register map)
/// of a replicated map needs.
pub trait EntryKey:
    Clone + Ord + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}
impl<T: Clone + Ord + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static>
    EntryKey for T
{
}

/// What an entry's value needs.
pub trait EntryValue:
    Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}
impl<T: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static>
    EntryValue for T
{
}

/// Entries keyed by `K`, one per key and replica, each tagged with the dot of the write that
/// made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize",
    deserialize = "K: Deserialize<'de> + Ord, V: Deserialize<'de>"
))]
pub struct Entries<K, V> {
    #[serde(with = "pairs")]
    map: BTreeMap<(K, ReplicaId), (u64, V)>,
}

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Self {
            map: BTreeMap::new(),
        }
    }
}

impl<K, V> Entries<K, V> {
    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: EntryKey, V: EntryValue> Entries<K, V> {
    /// Entries holding one entry: `dot.replica`'s of `key`.
    pub fn one(key: K, dot: Dot, value: V) -> Self {
        Self {
            map: BTreeMap::from([((key, dot.replica), (dot.counter, value))]),
        }
    }

    /// The dots of `key`'s entries.
    pub fn dots_of(&self, key: &K) -> Vec<Dot> {
        self.map
            .range((key.clone(), ReplicaId::MIN)..=(key.clone(), ReplicaId::MAX))
            .map(|((_, replica), (counter, _))| Dot {
                replica: *replica,
                counter: *counter,
            })
            .collect()
    }

    /// `replica`'s entry of `key`.
    pub fn get(&self, key: &K, replica: ReplicaId) -> Option<&V> {
        self.map
            .get(&(key.clone(), replica))
            .map(|(_, value)| value)
    }

    /// Every entry of `key`, by replica.
    pub fn of_key<'a>(
        &'a self,
        key: &K,
    ) -> impl Iterator<Item = (ReplicaId, &'a V)> + use<'a, K, V> {
        self.map
            .range((key.clone(), ReplicaId::MIN)..=(key.clone(), ReplicaId::MAX))
            .map(|((_, replica), (_, value))| (*replica, value))
    }

    /// Every entry: key, replica, value.
    pub fn iter(&self) -> impl Iterator<Item = (&K, ReplicaId, &V)> {
        self.map
            .iter()
            .map(|((key, replica), (_, value))| (key, *replica, value))
    }

    fn join_entries(&mut self, ours: &DotContext, other: &Self, theirs: &DotContext) {
        // Entries only we have, that the other side saw: it removed them.
        self.map.retain(|(key, replica), (counter, _)| {
            let dot = Dot {
                replica: *replica,
                counter: *counter,
            };
            other.map.contains_key(&(key.clone(), *replica)) || !theirs.contains(dot)
        });
        for (entry_key, (counter, value)) in &other.map {
            let dot = Dot {
                replica: entry_key.1,
                counter: *counter,
            };
            match self.map.get_mut(entry_key) {
                Some(mine) => {
                    if *counter > mine.0 {
                        *mine = (*counter, value.clone());
                    }
                }
                None => {
                    if !ours.contains(dot) {
                        self.map
                            .insert(entry_key.clone(), (*counter, value.clone()));
                    }
                }
            }
        }
    }
}

impl<K: EntryKey, V: EntryValue> DotStore for Entries<K, V> {
    fn join(&mut self, ours: &DotContext, other: &Self, theirs: &DotContext) {
        self.join_entries(ours, other, theirs);
    }

    fn dots(&self) -> Vec<Dot> {
        self.map
            .iter()
            .map(|((_, replica), (counter, _))| Dot {
                replica: *replica,
                counter: *counter,
            })
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Stores by key: a map whose values are causal stores sharing the map's context (a
/// `ReplicatedMap`'s values). A key whose store is empty is absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, S: Serialize",
    deserialize = "K: DeserializeOwned + Ord, S: DeserializeOwned"
))]
pub struct MapStore<K, S>(#[serde(with = "pairs")] pub BTreeMap<K, S>);

impl<K, S> Default for MapStore<K, S> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<K: EntryKey, S: DotStore> DotStore for MapStore<K, S> {
    fn join(&mut self, ours: &DotContext, other: &Self, theirs: &DotContext) {
        let empty = S::default();
        let keys: BTreeSet<K> = self.0.keys().chain(other.0.keys()).cloned().collect();
        for key in keys {
            let theirs_store = other.0.get(&key).unwrap_or(&empty);
            let mine = self.0.entry(key.clone()).or_default();
            mine.join(ours, theirs_store, theirs);
            if mine.is_empty() {
                self.0.remove(&key);
            }
        }
    }

    fn dots(&self) -> Vec<Dot> {
        self.0.values().flat_map(DotStore::dots).collect()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A map as a JSON array of `[key, value]` pairs, so keys need not be strings.
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Vec::<(K, V)>::deserialize(deserializer).map(|pairs| pairs.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_keeps_dots_past_a_gap_until_the_gap_fills() {
        let mut context = DotContext::default();
        context.join(&DotContext::of([Dot {
            replica: 1,
            counter: 2,
        }]));
        assert!(!context.contains(Dot {
            replica: 1,
            counter: 1
        }));
        assert!(context.contains(Dot {
            replica: 1,
            counter: 2
        }));
        context.join(&DotContext::of([Dot {
            replica: 1,
            counter: 1,
        }]));
        assert_eq!(context.seen.get(&1), Some(&2));
        assert!(context.cloud.is_empty());
        assert_eq!(
            context.peek_next(1),
            Dot {
                replica: 1,
                counter: 3
            }
        );
        context.join(&DotContext::of([Dot {
            replica: 1,
            counter: 5,
        }]));
        assert_eq!(
            context.peek_next(1),
            Dot {
                replica: 1,
                counter: 6
            }
        );
    }
}
