//! A store that counts the calls made to it: for tests of what the runtime asks of its store
//! (a stream that does not poll, a replay that reads only the events after the snapshot).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use kalix_core::store::{EventLog, Intercept, Intercepted, Store, StoreError};

/// Wraps a store and counts the calls made to each of its methods (by name, e.g.
/// `"query_view"`), and the events and snapshots it hands out to load entities (`"events
/// loaded"`, `"snapshots loaded"`).
///
/// ```
/// use std::sync::Arc;
/// use kalix_core::store::{SqliteStore, Store};
/// use kalix_testkit::CountingStore;
///
/// # async fn example() {
/// let store = CountingStore::new(Arc::new(SqliteStore::memory().unwrap()));
/// store.store().last_seq("counter", "c1").await.unwrap();
/// assert_eq!(store.calls("last_seq"), 1);
/// # }
/// ```
#[derive(Clone)]
pub struct CountingStore {
    store: Arc<Intercepted<Counts>>,
}

/// The counts, by method name.
#[derive(Default)]
struct Counts(Arc<Mutex<HashMap<&'static str, u64>>>);

impl Counts {
    fn add(counts: &Mutex<HashMap<&'static str, u64>>, what: &'static str, n: u64) {
        let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry(what).or_default() += n;
    }
}

impl Intercept for Counts {
    fn on_call(&self, method: &'static str) {
        Counts::add(&self.0, method, 1);
    }

    fn load_events(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<EventLog, StoreError>> {
        let counts = Arc::clone(&self.0);
        inner
            .load_events(type_id, entity_id)
            .map(move |log| {
                if let Ok(log) = &log {
                    Counts::add(&counts, "events loaded", log.events.len() as u64);
                    Counts::add(
                        &counts,
                        "snapshots loaded",
                        u64::from(log.snapshot.is_some()),
                    );
                }
                log
            })
            .boxed()
    }
}

impl CountingStore {
    /// Counts the calls made to `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            store: Arc::new(Intercepted::new(inner, Counts::default())),
        }
    }

    /// The counting store, to hand to a service (`TestKit::builder().store(..)`).
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// How many calls `method` got so far (or how many events or snapshots were loaded).
    pub fn calls(&self, method: &str) -> u64 {
        let counts = self.store.intercept().0.lock();
        let counts = counts.unwrap_or_else(|p| p.into_inner());
        counts.get(method).copied().unwrap_or(0)
    }
}
