//! `ReplicatedSet`: a set where an add wins over a concurrent remove.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{HasState, Local, replicated_data};
use crate::replicated_entity::causal::{Causal, Entries};

/// A set of elements (observed-remove, add wins): a remove takes out the adds its replica has
/// seen, so an add made concurrently elsewhere survives it.
///
/// ```
/// use kalix_core::replicated_entity::ReplicatedSet;
///
/// let set = ReplicatedSet::default().add("a".to_owned()).add("b".to_owned());
/// let set = set.remove(&"a".to_owned());
/// assert_eq!(set.elements().collect::<Vec<_>>(), [&"b".to_owned()]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    transparent,
    bound(
        serialize = "T: Clone + Ord + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static",
        deserialize = "T: Clone + Ord + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static"
    )
)]
pub struct ReplicatedSet<T> {
    state: Causal<Entries<T, ()>>,
    #[serde(skip)]
    local: Local<Causal<Entries<T, ()>>>,
}

impl<T> Default for ReplicatedSet<T> {
    fn default() -> Self {
        Self {
            state: Causal::default(),
            local: Local::default(),
        }
    }
}

impl<T> HasState for ReplicatedSet<T>
where
    T: Clone + Ord + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Store = Entries<T, ()>;
}

replicated_data!(ReplicatedSet<T> where T: Clone + Ord + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static);

impl<T> ReplicatedSet<T>
where
    T: Clone + Ord + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The elements, in ascending order.
    pub fn elements(&self) -> impl Iterator<Item = &T> {
        // Entries are sorted by element, then replica: an element's entries are together.
        let mut last: Option<&T> = None;
        self.state
            .store
            .iter()
            .map(|(element, _, _)| element)
            .filter(move |element| {
                let new = last != Some(*element);
                last = Some(*element);
                new
            })
    }

    /// Whether `element` is in the set.
    pub fn contains(&self, element: &T) -> bool {
        self.state.store.of_key(element).next().is_some()
    }

    /// How many elements there are.
    pub fn len(&self) -> usize {
        self.elements().count()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.state.store.is_empty()
    }

    /// The set with `element` added.
    pub fn add(&self, element: T) -> Self {
        self.changed(self.state.put_delta(self.me(), element, (), |_, _| true))
    }

    /// The set without `element` (as far as this replica has seen it added).
    pub fn remove(&self, element: &T) -> Self {
        self.changed(self.state.remove_delta(element))
    }

    /// The set without any element.
    pub fn clear(&self) -> Self {
        let elements: Vec<T> = self.elements().cloned().collect();
        elements
            .iter()
            .fold(self.clone(), |set, element| set.remove(element))
    }
}
