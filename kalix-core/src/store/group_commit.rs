//! Group commit: concurrent writes are queued, and one task commits whatever has queued up since
//! its last commit in a single transaction. Each writer waits for its own result; the queue's
//! order is the commit order, so one entity's writes apply in the order it made them.

use std::future::IntoFuture;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{Notify, mpsc};

use super::{Store, StoreError, Write, WriteError};
use crate::log_limit::LogLimit;

/// The most writes one transaction takes.
const MAX_BATCH: usize = 1024;

/// The result of one write: the new version or last sequence number, or why it was refused.
pub type CommitResult = Result<u64, WriteError>;

/// A write queued for commit. The committer records its result here whether or not anyone is
/// waiting, so [`PendingCommit::peek`] always learns the outcome (an entity's slot relies on it
/// even after the writer's caller went away). Cloning shares the same result.
#[derive(Clone, Default)]
pub struct PendingCommit {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    result: OnceLock<CommitResult>,
    done: Notify,
}

impl PendingCommit {
    /// The result, if the commit is done.
    pub fn peek(&self) -> Option<&CommitResult> {
        self.shared.result.get()
    }

    fn complete(&self, result: CommitResult) {
        let _ = self.shared.result.set(result);
        self.shared.done.notify_waiters();
    }

    /// Waits for the result.
    pub async fn wait(&self) -> CommitResult {
        loop {
            // Register before checking, so a completion between the check and the wait is seen.
            let notified = self.shared.done.notified();
            if let Some(result) = self.peek() {
                return result.clone();
            }
            notified.await;
        }
    }
}

impl IntoFuture for PendingCommit {
    type Output = CommitResult;
    type IntoFuture = BoxFuture<'static, CommitResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.wait().await })
    }
}

struct Queued {
    write: Write,
    commit: CompleteOnDrop,
}

/// Fails its commit if dropped before the committer completed it (the committer stopped or
/// panicked), so no waiter waits forever.
struct CompleteOnDrop(PendingCommit);

impl Drop for CompleteOnDrop {
    fn drop(&mut self) {
        if self.0.peek().is_none() {
            self.0.complete(stopped());
        }
    }
}

fn stopped() -> CommitResult {
    Err(WriteError::Store(StoreError::new(
        "the committer has stopped",
    )))
}

/// Batches writes to a [`Store`] into transactions.
#[derive(Clone)]
pub struct GroupCommitter {
    queue: mpsc::UnboundedSender<Queued>,
    /// Notified after each commit, so readers of the change feed look at once.
    news: Arc<Notify>,
}

impl GroupCommitter {
    /// Starts the commit task on the current tokio runtime; it ends when every handle is dropped.
    /// Its news is the store's [`Store::commit_news`] where there is one, so readers wake on
    /// other processes' commits too.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let news = store.commit_news().unwrap_or_default();
        tokio::spawn(run(store, receiver, Arc::clone(&news)));
        Self { queue, news }
    }

    /// Notified after each commit (to the tasks waiting at that moment), and on a shared store
    /// after other processes' commits.
    pub(crate) fn news(&self) -> Arc<Notify> {
        Arc::clone(&self.news)
    }

    /// Queues `write` and returns its commit. Writes queued earlier commit earlier (or in the same
    /// transaction, before it).
    pub fn submit(&self, write: impl Into<Write>) -> PendingCommit {
        let commit = PendingCommit::default();
        let queued = Queued {
            write: write.into(),
            commit: CompleteOnDrop(commit.clone()),
        };
        // If the committer is gone, the returned `Queued` drops here and fails the commit.
        let _ = self.queue.send(queued);
        commit
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut receiver: mpsc::UnboundedReceiver<Queued>,
    news: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, commits): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|q| (q.write, q.commit)).unzip();
        let results = commit_batch(&*store, writes).await;
        for (commit, result) in commits.iter().zip(results) {
            commit.0.complete(result);
        }
        news.notify_waiters();
    }
}

static BATCH_FAILED: LogLimit = LogLimit::per(Duration::from_secs(10));
static WRITE_REJECTED: LogLimit = LogLimit::per(Duration::from_secs(10));

/// Commits `writes` in one transaction, one result per write. If the database refused the
/// transaction for one write's content, the batch is split in halves, committed in order, and
/// split again where a half is refused: the refused writes fail alone (a few transactions per
/// refused write, not one per write), so one client's bad input is not everyone's error.
async fn commit_batch(store: &dyn Store, writes: Vec<Write>) -> Vec<CommitResult> {
    let count = writes.len();
    // Kept only for a batch that could be split: cheap clones (ids and `Bytes`).
    let to_split = (count > 1).then(|| writes.clone());
    match store.commit(writes).await {
        Ok(results) => results,
        Err(error) if error.is_rejected_write() => match to_split {
            Some(mut writes) => {
                if let Some(left_out) = WRITE_REJECTED.admit() {
                    tracing::warn!(%error, writes = count, left_out, "the database refused a write; committing the batch in parts to find it");
                }
                let second = writes.split_off(count / 2);
                let mut results = Box::pin(commit_batch(store, writes)).await;
                results.extend(Box::pin(commit_batch(store, second)).await);
                results
            }
            None => {
                if let Some(left_out) = WRITE_REJECTED.admit() {
                    tracing::error!(%error, left_out, "the database refused a write");
                }
                vec![Err(WriteError::Store(error))]
            }
        },
        Err(error) => {
            if let Some(left_out) = BATCH_FAILED.admit() {
                tracing::error!(%error, writes = count, left_out, "commit failed; every write of the batch fails");
            }
            vec![Err(WriteError::Store(error)); count]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{
        ConsumerProgress, FeedEntry, FeedKind, FeedOffset, SqliteStore, StateWrite, TimerOutcome,
        TimerRecord, TimerStart, ViewRowWrite, ViewRows, ViewTableSpec,
    };
    use crate::view::query::Query;

    fn write(entity: &str, expected: u64) -> StateWrite {
        StateWrite {
            type_id: "t".into(),
            entity_id: entity.into(),
            expected_version: expected,
            follows_own_write: false,
            payload: Some(bytes::Bytes::from_static(b"1")),
            timers: Vec::new(),
            kept_reply: None,
        }
    }

    #[tokio::test]
    async fn a_commit_nobody_awaits_still_completes_and_can_be_peeked() {
        let committer = GroupCommitter::start(Arc::new(SqliteStore::memory().unwrap()));
        let first = committer.submit(write("a", 0));
        // Awaiting a later write means the earlier one was committed, in the same or an
        // earlier transaction.
        assert_eq!(committer.submit(write("b", 0)).await, Ok(1));
        assert_eq!(first.peek(), Some(&Ok(1)));
        assert_eq!(first.clone().await, Ok(1), "every clone sees the result");
    }

    #[tokio::test]
    async fn writes_of_one_entity_commit_in_order() {
        let committer = GroupCommitter::start(Arc::new(SqliteStore::memory().unwrap()));
        let commits: Vec<_> = (0..50)
            .map(|version| committer.submit(write("a", version)))
            .collect();
        for (version, commit) in commits.into_iter().enumerate() {
            assert_eq!(commit.await, Ok(version as u64 + 1));
        }
    }

    /// SQLite, but a commit fails as a whole when `fault` says so.
    struct FaultyStore {
        inner: SqliteStore,
        fault: fn(&[Write]) -> Option<StoreError>,
    }

    impl FaultyStore {
        fn new(fault: fn(&[Write]) -> Option<StoreError>) -> Arc<Self> {
            let inner = SqliteStore::memory().unwrap();
            Arc::new(Self { inner, fault })
        }
    }

    impl Store for FaultyStore {
        fn is_shared(&self) -> bool {
            self.inner.is_shared()
        }

        fn commit_news(&self) -> Option<Arc<Notify>> {
            self.inner.commit_news()
        }

        fn store_id(&self) -> BoxFuture<'static, Result<String, StoreError>> {
            self.inner.store_id()
        }

        fn kept_reply(
            &self,
            type_id: &str,
            entity_id: &str,
            key: &str,
        ) -> BoxFuture<'static, Result<Option<bytes::Bytes>, StoreError>> {
            self.inner.kept_reply(type_id, entity_id, key)
        }

        fn purge_kept_replies(
            &self,
            before_ms: u64,
            limit: usize,
        ) -> BoxFuture<'static, Result<u64, StoreError>> {
            self.inner.purge_kept_replies(before_ms, limit)
        }

        fn prune_topic(
            &self,
            topic: &str,
            up_to: FeedOffset,
            before_ms: u64,
            limit: usize,
        ) -> BoxFuture<'static, Result<u64, StoreError>> {
            self.inner.prune_topic(topic, up_to, before_ms, limit)
        }

        fn load(
            &self,
            type_id: &str,
            entity_id: &str,
        ) -> BoxFuture<'static, Result<Option<crate::store::StoredState>, StoreError>> {
            self.inner.load(type_id, entity_id)
        }

        fn commit(
            &self,
            writes: Vec<Write>,
        ) -> BoxFuture<'static, Result<Vec<CommitResult>, StoreError>> {
            match (self.fault)(&writes) {
                Some(error) => Box::pin(async { Err(error) }),
                None => self.inner.commit(writes),
            }
        }

        fn load_events(
            &self,
            type_id: &str,
            entity_id: &str,
        ) -> BoxFuture<'static, Result<crate::store::EventLog, StoreError>> {
            self.inner.load_events(type_id, entity_id)
        }

        fn read_events(
            &self,
            type_id: &str,
            entity_id: &str,
            from_seq: u64,
        ) -> BoxFuture<'static, Result<Vec<crate::store::StoredEvent>, StoreError>> {
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
            messages: Vec<crate::store::TopicMessage>,
        ) -> BoxFuture<'static, Result<(), StoreError>> {
            self.inner.publish(topic, messages)
        }

        fn read_topic(
            &self,
            topic: &str,
            after: FeedOffset,
            limit: usize,
        ) -> BoxFuture<'static, Result<Vec<crate::store::StoredMessage>, StoreError>> {
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

        fn release_lease(
            &self,
            name: &str,
            owner: u64,
        ) -> BoxFuture<'static, Result<(), StoreError>> {
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

        fn next_timer_due(
            &self,
            now_ms: u64,
        ) -> BoxFuture<'static, Result<Option<u64>, StoreError>> {
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

    #[tokio::test]
    async fn a_write_the_database_refuses_fails_alone_and_its_batch_commits() {
        // As PostgreSQL fails a transaction holding an id over its index's row size.
        let store = FaultyStore::new(|writes| {
            let poisoned = writes
                .iter()
                .any(|w| matches!(w, Write::State(w) if w.entity_id == "poison"));
            poisoned.then(|| StoreError::rejected_write("index row size exceeds maximum"))
        });
        let committer = GroupCommitter::start(Arc::clone(&store) as Arc<dyn Store>);
        // Queued before the committer runs, so the three share one batch.
        let first = committer.submit(write("a", 0));
        let poisoned = committer.submit(write("poison", 0));
        let last = committer.submit(write("b", 0));
        assert_eq!(first.await, Ok(1));
        assert!(
            matches!(poisoned.await, Err(WriteError::Store(e)) if e.is_rejected_write()),
            "the refused write reports the database's error"
        );
        assert_eq!(last.await, Ok(1));
        assert_eq!(store.inner.state_version("t", "a").await, Ok(1));
        assert_eq!(store.inner.state_version("t", "b").await, Ok(1));
    }

    #[tokio::test]
    async fn finding_a_refused_write_in_a_large_batch_takes_a_few_transactions() {
        static COMMITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let store = FaultyStore::new(|writes| {
            COMMITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let poisoned = writes
                .iter()
                .any(|w| matches!(w, Write::State(w) if w.entity_id == "poison"));
            poisoned.then(|| StoreError::rejected_write("refused"))
        });
        let committer = GroupCommitter::start(store);
        let mut commits: Vec<_> = (0..500)
            .map(|n| committer.submit(write(&format!("e{n}"), 0)))
            .collect();
        commits.insert(250, committer.submit(write("poison", 0)));
        let mut refused = 0;
        for commit in commits {
            match commit.await {
                Ok(1) => {}
                Err(WriteError::Store(e)) if e.is_rejected_write() => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(refused, 1);
        let transactions = COMMITS.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            transactions <= 20,
            "{transactions} transactions for 501 writes"
        );
    }

    #[tokio::test]
    async fn a_store_failure_fails_every_write_of_the_batch() {
        let store = FaultyStore::new(|_| Some(StoreError::new("disk full")));
        let committer = GroupCommitter::start(store);
        let first = committer.submit(write("a", 0));
        let second = committer.submit(write("b", 0));
        assert!(matches!(first.await, Err(WriteError::Store(e)) if !e.is_rejected_write()));
        assert!(matches!(second.await, Err(WriteError::Store(_))));
    }
}
