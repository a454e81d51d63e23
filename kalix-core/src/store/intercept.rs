//! A store wrapped to change some of its methods: what a test double needs, in a few lines.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use futures_util::future::BoxFuture;
//! use kalix_core::store::{
//!     EntityStore, Intercept, Intercepted, SqliteStore, Store, StoreError, StoredState,
//! };
//!
//! /// Counts the loads; everything else is the inner store's.
//! #[derive(Default)]
//! struct CountLoads(AtomicU64);
//!
//! impl Intercept for CountLoads {
//!     fn load(
//!         &self,
//!         inner: &dyn Store,
//!         type_id: &str,
//!         entity_id: &str,
//!     ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>> {
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!         inner.load(type_id, entity_id)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = Intercepted::new(Arc::new(SqliteStore::memory().unwrap()), CountLoads::default());
//! store.load("counter", "c1").await.unwrap();
//! assert_eq!(store.intercept().0.load(Ordering::Relaxed), 1);
//! # }
//! ```

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::{
    ConsumerProgress, EntityStore, EventLog, FeedEntry, FeedKind, FeedOffset, FeedStore, KeptReply,
    LeaseStore, Store, StoreError, StoredEvent, StoredMessage, StoredState, TimerOutcome,
    TimerRecord, TimerStart, TimerStore, TopicAppend, TopicMessage, ViewRowWrite, ViewRows,
    ViewStore, ViewTableSpec, Write, WriteError,
};

/// What an [`Intercepted`] store does instead of its inner store's methods: every method
/// defaults to the inner store's, so an implementation writes only the ones it changes.
/// [`Intercept::on_call`] sees every call first, by the method's name.
pub trait Intercept: Send + Sync + 'static {
    /// Called before each method of the store, with its name (`"load"`, `"query_view"`..).
    fn on_call(&self, method: &'static str) {
        let _ = method;
    }

    /// [`Store::is_shared`]; by default, `inner`'s.
    fn is_shared(&self, inner: &dyn Store) -> bool {
        inner.is_shared()
    }

    /// [`Store::store_id`]; by default, `inner`'s.
    fn store_id(&self, inner: &dyn Store) -> BoxFuture<'static, Result<String, StoreError>> {
        inner.store_id()
    }

    /// [`Store::commit_news`]; by default, `inner`'s.
    fn commit_news(&self, inner: &dyn Store) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        inner.commit_news()
    }

    /// [`ReplicaStore::load_replicas`](super::ReplicaStore::load_replicas); by default, `inner`'s.
    fn load_replicas(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Vec<super::ReplicaRow>, StoreError>> {
        inner.load_replicas(type_id, entity_id)
    }

    /// [`EntityStore::load`]; by default, `inner`'s.
    fn load(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>> {
        inner.load(type_id, entity_id)
    }

    /// [`EntityStore::commit`]; by default, `inner`'s.
    fn commit(
        &self,
        inner: &dyn Store,
        writes: Vec<Write>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>> {
        inner.commit(writes)
    }

    /// [`EntityStore::load_events`]; by default, `inner`'s.
    fn load_events(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<EventLog, StoreError>> {
        inner.load_events(type_id, entity_id)
    }

    /// [`EntityStore::kept_reply`]; by default, `inner`'s.
    fn kept_reply(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>> {
        inner.kept_reply(type_id, entity_id, key)
    }

    /// [`EntityStore::claim_key`]; by default, `inner`'s.
    fn claim_key(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
        claim: KeptReply,
        stale_after_ms: u64,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>> {
        inner.claim_key(type_id, entity_id, claim, stale_after_ms)
    }

    /// [`EntityStore::release_key`]; by default, `inner`'s.
    fn release_key(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        inner.release_key(type_id, entity_id, key)
    }

    /// [`EntityStore::purge_kept_replies`]; by default, `inner`'s.
    fn purge_kept_replies(
        &self,
        inner: &dyn Store,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        inner.purge_kept_replies(before_ms, limit)
    }

    /// [`EntityStore::read_events`]; by default, `inner`'s.
    fn read_events(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>> {
        inner.read_events(type_id, entity_id, from_seq)
    }

    /// [`EntityStore::state_version`]; by default, `inner`'s.
    fn state_version(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        inner.state_version(type_id, entity_id)
    }

    /// [`EntityStore::last_seq`]; by default, `inner`'s.
    fn last_seq(
        &self,
        inner: &dyn Store,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        inner.last_seq(type_id, entity_id)
    }

    /// [`FeedStore::read_feed`]; by default, `inner`'s.
    fn read_feed(
        &self,
        inner: &dyn Store,
        kind: FeedKind,
        type_id: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<FeedEntry>, StoreError>> {
        inner.read_feed(kind, type_id, after, limit)
    }

    /// [`FeedStore::consumer_progress`]; by default, `inner`'s.
    fn consumer_progress(
        &self,
        inner: &dyn Store,
        consumer: &str,
        entity_ids: Vec<String>,
    ) -> BoxFuture<'static, Result<ConsumerProgress, StoreError>> {
        inner.consumer_progress(consumer, entity_ids)
    }

    /// [`FeedStore::save_consumer_progress`]; by default, `inner`'s.
    fn save_consumer_progress(
        &self,
        inner: &dyn Store,
        consumer: &str,
        progress: ConsumerProgress,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        inner.save_consumer_progress(consumer, progress)
    }

    /// [`FeedStore::publish_with_progress`]; by default, `inner`'s.
    fn publish_with_progress(
        &self,
        inner: &dyn Store,
        consumer: &str,
        progress: ConsumerProgress,
        appends: Arc<[TopicAppend]>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        inner.publish_with_progress(consumer, progress, appends)
    }

    /// [`FeedStore::publish`]; by default, `inner`'s.
    fn publish(
        &self,
        inner: &dyn Store,
        topic: &str,
        messages: Vec<TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        inner.publish(topic, messages)
    }

    /// [`FeedStore::prune_topic`]; by default, `inner`'s.
    fn prune_topic(
        &self,
        inner: &dyn Store,
        topic: &str,
        up_to: FeedOffset,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        inner.prune_topic(topic, up_to, before_ms, limit)
    }

    /// [`FeedStore::read_topic`]; by default, `inner`'s.
    fn read_topic(
        &self,
        inner: &dyn Store,
        topic: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredMessage>, StoreError>> {
        inner.read_topic(topic, after, limit)
    }

    /// [`LeaseStore::lease`]; by default, `inner`'s.
    fn lease(
        &self,
        inner: &dyn Store,
        name: &str,
        owner: u64,
        ttl: std::time::Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        inner.lease(name, owner, ttl)
    }

    /// [`LeaseStore::release_lease`]; by default, `inner`'s.
    fn release_lease(
        &self,
        inner: &dyn Store,
        name: &str,
        owner: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        inner.release_lease(name, owner)
    }

    /// [`LeaseStore::count_leases`]; by default, `inner`'s.
    fn count_leases(
        &self,
        inner: &dyn Store,
        prefix: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        inner.count_leases(prefix)
    }

    /// [`ViewStore::prepare_view_table`]; by default, `inner`'s.
    fn prepare_view_table(
        &self,
        inner: &dyn Store,
        table: ViewTableSpec,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        inner.prepare_view_table(table)
    }

    /// [`ViewStore::view_rows`]; by default, `inner`'s.
    fn view_rows(
        &self,
        inner: &dyn Store,
        table: &str,
        keys: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<(String, Bytes)>, StoreError>> {
        inner.view_rows(table, keys)
    }

    /// [`ViewStore::commit_view`]; by default, `inner`'s.
    fn commit_view(
        &self,
        inner: &dyn Store,
        table: &str,
        writes: Vec<ViewRowWrite>,
        consumer: &str,
        progress: ConsumerProgress,
        owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        inner.commit_view(table, writes, consumer, progress, owner)
    }

    /// [`ViewStore::query_view`]; by default, `inner`'s.
    fn query_view(
        &self,
        inner: &dyn Store,
        query: &'static crate::view::query::Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<ViewRows, StoreError>> {
        inner.query_view(query, params)
    }

    /// [`ViewStore::explain_view_query`]; by default, `inner`'s.
    fn explain_view_query(
        &self,
        inner: &dyn Store,
        query: &'static crate::view::query::Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<String, StoreError>> {
        inner.explain_view_query(query, params)
    }

    /// [`TimerStore::start_timer`]; by default, `inner`'s.
    fn start_timer(
        &self,
        inner: &dyn Store,
        timer: TimerRecord,
        max_pending: u64,
    ) -> BoxFuture<'static, Result<TimerStart, StoreError>> {
        inner.start_timer(timer, max_pending)
    }

    /// [`TimerStore::cancel_timer`]; by default, `inner`'s.
    fn cancel_timer(
        &self,
        inner: &dyn Store,
        name: &str,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        inner.cancel_timer(name)
    }

    /// [`TimerStore::claim_due_timers`]; by default, `inner`'s.
    fn claim_due_timers(
        &self,
        inner: &dyn Store,
        now_ms: u64,
        claim_ms: u64,
        owner: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        inner.claim_due_timers(now_ms, claim_ms, owner, limit)
    }

    /// [`TimerStore::settle_timers`]; by default, `inner`'s.
    fn settle_timers(
        &self,
        inner: &dyn Store,
        outcomes: Vec<TimerOutcome>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        inner.settle_timers(outcomes)
    }

    /// [`TimerStore::next_timer_due`]; by default, `inner`'s.
    fn next_timer_due(
        &self,
        inner: &dyn Store,
        now_ms: u64,
    ) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        inner.next_timer_due(now_ms)
    }

    /// [`TimerStore::list_timers`]; by default, `inner`'s.
    fn list_timers(
        &self,
        inner: &dyn Store,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        inner.list_timers(limit)
    }

    /// [`TimerStore::hasten_timers`]; by default, `inner`'s.
    fn hasten_timers(
        &self,
        inner: &dyn Store,
        prefix: &str,
        due_ms: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        inner.hasten_timers(prefix, due_ms)
    }
}

/// A store that answers with its inner store, except where its [`Intercept`] says otherwise.
pub struct Intercepted<I> {
    inner: Arc<dyn Store>,
    intercept: I,
}

impl<I: Intercept> Intercepted<I> {
    /// `inner`, changed by `intercept`.
    pub fn new(inner: Arc<dyn Store>, intercept: I) -> Self {
        Self { inner, intercept }
    }

    /// The intercept (to read what it recorded).
    pub fn intercept(&self) -> &I {
        &self.intercept
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }
}

impl<I: Intercept> Store for Intercepted<I> {
    fn is_shared(&self) -> bool {
        self.intercept.on_call("is_shared");
        self.intercept.is_shared(&*self.inner)
    }
    fn store_id(&self) -> BoxFuture<'static, Result<String, StoreError>> {
        self.intercept.on_call("store_id");
        self.intercept.store_id(&*self.inner)
    }
    fn commit_news(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        self.intercept.on_call("commit_news");
        self.intercept.commit_news(&*self.inner)
    }
}

impl<I: Intercept> super::ReplicaStore for Intercepted<I> {
    fn load_replicas(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Vec<super::ReplicaRow>, StoreError>> {
        self.intercept.on_call("load_replicas");
        self.intercept
            .load_replicas(&*self.inner, type_id, entity_id)
    }
    /// Goes to the wrapped store as it is: no test double changes it.
    fn replica_news(&self) -> Option<tokio::sync::broadcast::Receiver<super::ReplicaNews>> {
        self.inner.replica_news()
    }
    /// Goes to the wrapped store as it is: no test double changes it.
    fn confirm_replica_write(
        &self,
        token: u64,
        replica: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.confirm_replica_write(token, replica)
    }
}

impl<I: Intercept> EntityStore for Intercepted<I> {
    fn load(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>> {
        self.intercept.on_call("load");
        self.intercept.load(&*self.inner, type_id, entity_id)
    }
    fn commit(
        &self,
        writes: Vec<Write>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>> {
        self.intercept.on_call("commit");
        self.intercept.commit(&*self.inner, writes)
    }
    fn load_events(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<EventLog, StoreError>> {
        self.intercept.on_call("load_events");
        self.intercept.load_events(&*self.inner, type_id, entity_id)
    }
    fn kept_reply(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>> {
        self.intercept.on_call("kept_reply");
        self.intercept
            .kept_reply(&*self.inner, type_id, entity_id, key)
    }
    fn claim_key(
        &self,
        type_id: &str,
        entity_id: &str,
        claim: KeptReply,
        stale_after_ms: u64,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>> {
        self.intercept.on_call("claim_key");
        self.intercept
            .claim_key(&*self.inner, type_id, entity_id, claim, stale_after_ms)
    }
    fn release_key(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.intercept.on_call("release_key");
        self.intercept
            .release_key(&*self.inner, type_id, entity_id, key)
    }
    fn purge_kept_replies(
        &self,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.intercept.on_call("purge_kept_replies");
        self.intercept
            .purge_kept_replies(&*self.inner, before_ms, limit)
    }
    fn read_events(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>> {
        self.intercept.on_call("read_events");
        self.intercept
            .read_events(&*self.inner, type_id, entity_id, from_seq)
    }
    fn state_version(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.intercept.on_call("state_version");
        self.intercept
            .state_version(&*self.inner, type_id, entity_id)
    }
    fn last_seq(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.intercept.on_call("last_seq");
        self.intercept.last_seq(&*self.inner, type_id, entity_id)
    }
}

impl<I: Intercept> FeedStore for Intercepted<I> {
    fn read_feed(
        &self,
        kind: FeedKind,
        type_id: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<FeedEntry>, StoreError>> {
        self.intercept.on_call("read_feed");
        self.intercept
            .read_feed(&*self.inner, kind, type_id, after, limit)
    }
    fn feed_in_commit_order(&self) -> bool {
        self.inner.feed_in_commit_order()
    }
    fn consumer_progress(
        &self,
        consumer: &str,
        entity_ids: Vec<String>,
    ) -> BoxFuture<'static, Result<ConsumerProgress, StoreError>> {
        self.intercept.on_call("consumer_progress");
        self.intercept
            .consumer_progress(&*self.inner, consumer, entity_ids)
    }
    fn save_consumer_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.intercept.on_call("save_consumer_progress");
        self.intercept
            .save_consumer_progress(&*self.inner, consumer, progress)
    }
    fn publish_with_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
        appends: Arc<[TopicAppend]>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.intercept.on_call("publish_with_progress");
        self.intercept
            .publish_with_progress(&*self.inner, consumer, progress, appends)
    }
    fn publish(
        &self,
        topic: &str,
        messages: Vec<TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.intercept.on_call("publish");
        self.intercept.publish(&*self.inner, topic, messages)
    }
    fn prune_topic(
        &self,
        topic: &str,
        up_to: FeedOffset,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.intercept.on_call("prune_topic");
        self.intercept
            .prune_topic(&*self.inner, topic, up_to, before_ms, limit)
    }
    fn read_topic(
        &self,
        topic: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredMessage>, StoreError>> {
        self.intercept.on_call("read_topic");
        self.intercept.read_topic(&*self.inner, topic, after, limit)
    }
}

impl<I: Intercept> LeaseStore for Intercepted<I> {
    fn lease(
        &self,
        name: &str,
        owner: u64,
        ttl: std::time::Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.intercept.on_call("lease");
        self.intercept.lease(&*self.inner, name, owner, ttl)
    }
    fn release_lease(&self, name: &str, owner: u64) -> BoxFuture<'static, Result<(), StoreError>> {
        self.intercept.on_call("release_lease");
        self.intercept.release_lease(&*self.inner, name, owner)
    }
    fn count_leases(&self, prefix: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.intercept.on_call("count_leases");
        self.intercept.count_leases(&*self.inner, prefix)
    }
}

impl<I: Intercept> ViewStore for Intercepted<I> {
    /// Goes to the wrapped store as it is: no test double changes it.
    fn reset_view(
        &self,
        table: &str,
        consumer: &str,
        owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.reset_view(table, consumer, owner)
    }
    fn prepare_view_table(
        &self,
        table: ViewTableSpec,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.intercept.on_call("prepare_view_table");
        self.intercept.prepare_view_table(&*self.inner, table)
    }
    fn view_rows(
        &self,
        table: &str,
        keys: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<(String, Bytes)>, StoreError>> {
        self.intercept.on_call("view_rows");
        self.intercept.view_rows(&*self.inner, table, keys)
    }
    fn commit_view(
        &self,
        table: &str,
        writes: Vec<ViewRowWrite>,
        consumer: &str,
        progress: ConsumerProgress,
        owner: Option<u64>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.intercept.on_call("commit_view");
        self.intercept
            .commit_view(&*self.inner, table, writes, consumer, progress, owner)
    }
    fn query_view(
        &self,
        query: &'static crate::view::query::Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<ViewRows, StoreError>> {
        self.intercept.on_call("query_view");
        self.intercept.query_view(&*self.inner, query, params)
    }
    fn explain_view_query(
        &self,
        query: &'static crate::view::query::Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<String, StoreError>> {
        self.intercept.on_call("explain_view_query");
        self.intercept
            .explain_view_query(&*self.inner, query, params)
    }
}

/// The admin API's reads go to the wrapped store as they are: no test double changes them.
impl<I: Intercept> super::InspectStore for Intercepted<I> {
    fn recent_entities(
        &self,
        type_id: &str,
        rows: super::EntityRows,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        self.inner.recent_entities(type_id, rows, limit)
    }
    fn events_page(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>> {
        self.inner.events_page(type_id, entity_id, from_seq, limit)
    }
    fn find_timers(
        &self,
        filter: super::TimerFilter,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.inner.find_timers(filter, limit)
    }
    fn consumers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<super::ConsumerRecord>, StoreError>> {
        self.inner.consumers(limit)
    }
}

impl<I: Intercept> TimerStore for Intercepted<I> {
    fn start_timer(
        &self,
        timer: TimerRecord,
        max_pending: u64,
    ) -> BoxFuture<'static, Result<TimerStart, StoreError>> {
        self.intercept.on_call("start_timer");
        self.intercept.start_timer(&*self.inner, timer, max_pending)
    }
    fn cancel_timer(&self, name: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        self.intercept.on_call("cancel_timer");
        self.intercept.cancel_timer(&*self.inner, name)
    }
    fn claim_due_timers(
        &self,
        now_ms: u64,
        claim_ms: u64,
        owner: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.intercept.on_call("claim_due_timers");
        self.intercept
            .claim_due_timers(&*self.inner, now_ms, claim_ms, owner, limit)
    }
    fn settle_timers(
        &self,
        outcomes: Vec<TimerOutcome>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.intercept.on_call("settle_timers");
        self.intercept.settle_timers(&*self.inner, outcomes)
    }
    fn next_timer_due(&self, now_ms: u64) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        self.intercept.on_call("next_timer_due");
        self.intercept.next_timer_due(&*self.inner, now_ms)
    }
    fn pending_timers(&self) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        self.intercept.on_call("pending_timers");
        self.inner.pending_timers()
    }
    fn list_timers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.intercept.on_call("list_timers");
        self.intercept.list_timers(&*self.inner, limit)
    }
    fn hasten_timers(
        &self,
        prefix: &str,
        due_ms: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.intercept.on_call("hasten_timers");
        self.intercept.hasten_timers(&*self.inner, prefix, due_ms)
    }
}
