//! A restart rebuilds the state exactly, reading only the events after the latest snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use kalix_core::store::{
    ConsumerProgress, EventLog, FeedEntry, FeedKind, FeedOffset, SqliteStore, Store, StoreError,
    StoredEvent, StoredState, TimerOutcome, TimerRecord, TimerStart, ViewRowWrite, ViewRows,
    ViewTableSpec, Write, WriteError,
};
use kalix_core::view::query::Query;
use kalix_testkit::TestKit;
use serde_json::json;

use crate::http::value;

/// SQLite, counting the events it hands out for loading entities.
struct CountingStore {
    inner: SqliteStore,
    events_loaded: Arc<AtomicUsize>,
    snapshots_loaded: Arc<AtomicUsize>,
}

impl Store for CountingStore {
    fn is_shared(&self) -> bool {
        self.inner.is_shared()
    }

    fn load(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>> {
        self.inner.load(type_id, entity_id)
    }

    fn commit(
        &self,
        writes: Vec<Write>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>> {
        self.inner.commit(writes)
    }

    fn load_events(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<EventLog, StoreError>> {
        let (events, snapshots) = (
            Arc::clone(&self.events_loaded),
            Arc::clone(&self.snapshots_loaded),
        );
        self.inner
            .load_events(type_id, entity_id)
            .map(move |log| {
                if let Ok(log) = &log {
                    events.fetch_add(log.events.len(), Ordering::SeqCst);
                    snapshots.fetch_add(usize::from(log.snapshot.is_some()), Ordering::SeqCst);
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
        self.inner.read_events(type_id, entity_id, from_seq)
    }

    fn state_version(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.inner.state_version(type_id, entity_id)
    }

    fn last_seq(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.inner.last_seq(type_id, entity_id)
    }

    fn read_feed(
        &self,
        kind: FeedKind,
        type_id: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<FeedEntry>, StoreError>> {
        self.inner.read_feed(kind, type_id, after, limit)
    }

    fn consumer_progress(
        &self,
        consumer: &str,
        entity_ids: Vec<String>,
    ) -> BoxFuture<'static, Result<ConsumerProgress, StoreError>> {
        self.inner.consumer_progress(consumer, entity_ids)
    }

    fn save_consumer_progress(
        &self,
        consumer: &str,
        progress: ConsumerProgress,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.save_consumer_progress(consumer, progress)
    }

    fn publish(
        &self,
        topic: &str,
        messages: Vec<kalix_core::store::TopicMessage>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.publish(topic, messages)
    }

    fn read_topic(
        &self,
        topic: &str,
        after: FeedOffset,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<kalix_core::store::StoredMessage>, StoreError>> {
        self.inner.read_topic(topic, after, limit)
    }

    fn lease(
        &self,
        name: &str,
        owner: u64,
        ttl: std::time::Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.inner.lease(name, owner, ttl)
    }

    fn release_lease(&self, name: &str, owner: u64) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.release_lease(name, owner)
    }

    fn count_leases(&self, prefix: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.inner.count_leases(prefix)
    }

    fn prepare_view_table(
        &self,
        table: ViewTableSpec,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.inner.prepare_view_table(table)
    }

    fn view_rows(
        &self,
        table: &str,
        keys: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<(String, bytes::Bytes)>, StoreError>> {
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
        self.inner
            .commit_view(table, writes, consumer, progress, owner)
    }

    fn query_view(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<ViewRows, StoreError>> {
        self.inner.query_view(query, params)
    }

    fn explain_view_query(
        &self,
        query: &'static Query,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'static, Result<String, StoreError>> {
        self.inner.explain_view_query(query, params)
    }

    fn start_timer(
        &self,
        timer: TimerRecord,
        max_pending: u64,
    ) -> BoxFuture<'static, Result<TimerStart, StoreError>> {
        self.inner.start_timer(timer, max_pending)
    }

    fn cancel_timer(&self, name: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.cancel_timer(name)
    }

    fn claim_due_timers(
        &self,
        now_ms: u64,
        claim_ms: u64,
        owner: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.inner.claim_due_timers(now_ms, claim_ms, owner, limit)
    }

    fn settle_timers(
        &self,
        outcomes: Vec<TimerOutcome>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.settle_timers(outcomes)
    }

    fn next_timer_due(&self, now_ms: u64) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
        self.inner.next_timer_due(now_ms)
    }

    fn list_timers(
        &self,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<TimerRecord>, StoreError>> {
        self.inner.list_timers(limit)
    }

    fn hasten_timers(
        &self,
        prefix: &str,
        due_ms: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.hasten_timers(prefix, due_ms)
    }
}

async fn start(path: &std::path::Path) -> (TestKit, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let events_loaded = Arc::new(AtomicUsize::new(0));
    let snapshots_loaded = Arc::new(AtomicUsize::new(0));
    let store = CountingStore {
        inner: SqliteStore::open(path).unwrap(),
        events_loaded: Arc::clone(&events_loaded),
        snapshots_loaded: Arc::clone(&snapshots_loaded),
    };
    let testkit = TestKit::builder().store(Arc::new(store)).start().await;
    (testkit, events_loaded, snapshots_loaded)
}

#[tokio::test]
async fn a_restart_after_250_events_replays_at_most_100_after_the_snapshot() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("journal.db");
    let (testkit, _, _) = start(&database).await;
    for n in 1..=250 {
        // A mix of events, so that the order of replay matters.
        let path = if n % 50 == 0 {
            "/counter/r/multiply/2".to_owned()
        } else {
            format!("/counter/r/increase/{n}")
        };
        assert!(
            testkit
                .post(&path)
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }
    let before = value(&testkit, "r").await;
    testkit.stop().await;

    let (restarted, events_loaded, snapshots_loaded) = start(&database).await;
    assert_eq!(
        value(&restarted, "r").await,
        before,
        "the state is rebuilt exactly"
    );
    assert_eq!(
        snapshots_loaded.load(Ordering::SeqCst),
        1,
        "loading starts from a snapshot"
    );
    let replayed = events_loaded.load(Ordering::SeqCst);
    assert!(
        replayed <= 100,
        "{replayed} events replayed after the snapshot"
    );
    assert_eq!(
        replayed, 50,
        "the snapshot at 200 leaves 50 events to replay"
    );
    let body: serde_json::Value = restarted
        .post("/counter/r/increase/1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected = before.as_str().unwrap().parse::<i64>().unwrap() + 1;
    assert_eq!(
        body,
        json!(expected.to_string()),
        "the journal continues after the restart"
    );
}
