//! A store that counts the calls made to it: for tests of what the runtime asks of its store
//! (a stream that does not poll, a replay that reads only the events after the snapshot).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use kalix_core::store::{
    ConsumerProgress, EventLog, FeedEntry, FeedKind, FeedOffset, Store, StoreError, StoredEvent,
    StoredState, TimerOutcome, TimerRecord, TimerStart, ViewRowWrite, ViewRows, ViewTableSpec,
    Write, WriteError,
};
use kalix_core::view::query::Query;

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
/// store.last_seq("counter", "c1").await.unwrap();
/// assert_eq!(store.calls("last_seq"), 1);
/// # }
/// ```
#[derive(Clone)]
pub struct CountingStore {
    inner: Arc<dyn Store>,
    counts: Arc<Mutex<HashMap<&'static str, u64>>>,
}

impl CountingStore {
    /// Counts the calls made to `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            counts: Arc::default(),
        }
    }

    /// How many calls `method` got so far (or how many events or snapshots were loaded).
    pub fn calls(&self, method: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(method).copied().unwrap_or(0)
    }

    fn count(&self, method: &'static str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry(method).or_default() += 1;
    }
}

impl Store for CountingStore {
    fn commit_news(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.inner.commit_news()
    }

    fn store_id(&self) -> BoxFuture<'static, Result<String, StoreError>> {
        self.count("store_id");
        self.inner.store_id()
    }

    fn kept_reply(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<Option<bytes::Bytes>, StoreError>> {
        self.count("kept_reply");
        self.inner.kept_reply(type_id, entity_id, key)
    }

    fn purge_kept_replies(
        &self,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.count("purge_kept_replies");
        self.inner.purge_kept_replies(before_ms, limit)
    }

    fn prune_topic(
        &self,
        topic: &str,
        up_to: FeedOffset,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.count("prune_topic");
        self.inner.prune_topic(topic, up_to, before_ms, limit)
    }

    fn is_shared(&self) -> bool {
        self.count("is_shared");
        self.inner.is_shared()
    }

    fn load(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>> {
        self.count("load");
        self.inner.load(type_id, entity_id)
    }

    fn commit(
        &self,
        writes: Vec<Write>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>> {
        self.count("commit");
        self.inner.commit(writes)
    }

    fn load_events(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<EventLog, StoreError>> {
        self.count("load_events");
        let counts = Arc::clone(&self.counts);
        self.inner
            .load_events(type_id, entity_id)
            .map(move |log| {
                if let Ok(log) = &log {
                    let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
                    *counts.entry("events loaded").or_default() += log.events.len() as u64;
                    *counts.entry("snapshots loaded").or_default() +=
                        u64::from(log.snapshot.is_some());
                }
                log
            })
            .boxed()
    }

    fn read_events(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>> {
        self.count("read_events");
        self.inner.read_events(type_id, entity_id, from_seq)
    }

    fn state_version(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.count("state_version");
        self.inner.state_version(type_id, entity_id)
    }

    fn last_seq(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.count("last_seq");
        self.inner.last_seq(type_id, entity_id)
    }

    fn read_feed(
        &self,
        kind: FeedKind,
        type_id: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<FeedEntry>, StoreError>> {
        self.count("read_feed");
        self.inner.read_feed(kind, type_id, after, limit)
    }

    fn consumer_progress(
        &self,
        consumer: &str,
        entity_ids: Vec<String>,
    ) -> BoxFuture<'static, Result<ConsumerProgress, StoreError>> {
        self.count("consumer_progress");
        self.inner.consumer_progress(consumer, entity_ids)
    }

    fn save_consumer_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.count("save_consumer_progress");
        self.inner.save_consumer_progress(consumer, progress)
    }

    fn publish(
        &self,
        topic: &str,
        messages: Vec<kalix_core::store::TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.count("publish");
        self.inner.publish(topic, messages)
    }

    fn read_topic(
        &self,
        topic: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<kalix_core::store::StoredMessage>, StoreError>> {
        self.count("read_topic");
        self.inner.read_topic(topic, after, limit)
    }

    fn lease(
        &self,
        name: &str,
        owner: u64,
        ttl: std::time::Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.count("lease");
        self.inner.lease(name, owner, ttl)
    }

    fn release_lease(&self, name: &str, owner: u64) -> BoxFuture<'static, Result<(), StoreError>> {
        self.count("release_lease");
        self.inner.release_lease(name, owner)
    }

    fn count_leases(&self, prefix: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.count("count_leases");
        self.inner.count_leases(prefix)
    }

    fn prepare_view_table(
        &self,
        table: ViewTableSpec,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.count("prepare_view_table");
        self.inner.prepare_view_table(table)
    }

    fn view_rows(
        &self,
        table: &str,
        keys: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<(String, bytes::Bytes)>, StoreError>> {
        self.count("view_rows");
        self.inner.view_rows(table, keys)
    }

    fn commit_view(
        &self,
        table: &str,
        writes: Vec<ViewRowWrite>,
        consumer: &str,
        progress: ConsumerProgress,
        owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.count("commit_view");
        self.inner
            .commit_view(table, writes, consumer, progress, owner)
    }

    fn query_view(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<ViewRows, StoreError>> {
        self.count("query_view");
        self.inner.query_view(query, params)
    }

    fn explain_view_query(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<String, StoreError>> {
        self.count("explain_view_query");
        self.inner.explain_view_query(query, params)
    }

    fn start_timer(
        &self,
        timer: TimerRecord,
        max_pending: u64,
    ) -> BoxFuture<'static, Result<TimerStart, StoreError>> {
        self.count("start_timer");
        self.inner.start_timer(timer, max_pending)
    }

    fn cancel_timer(&self, name: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        self.count("cancel_timer");
        self.inner.cancel_timer(name)
    }

    fn claim_due_timers(
        &self,
        now_ms: u64,
        claim_ms: u64,
        owner: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.count("claim_due_timers");
        self.inner.claim_due_timers(now_ms, claim_ms, owner, limit)
    }

    fn settle_timers(
        &self,
        outcomes: Vec<TimerOutcome>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.count("settle_timers");
        self.inner.settle_timers(outcomes)
    }

    fn next_timer_due(&self, now_ms: u64) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        self.count("next_timer_due");
        self.inner.next_timer_due(now_ms)
    }

    fn list_timers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.count("list_timers");
        self.inner.list_timers(limit)
    }

    fn hasten_timers(
        &self,
        prefix: &str,
        due_ms: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.count("hasten_timers");
        self.inner.hasten_timers(prefix, due_ms)
    }
}
