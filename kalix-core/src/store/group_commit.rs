//! Group commit: concurrent writes are queued, and one task commits whatever has queued up since
//! its last commit in a single transaction. Each writer waits for its own result; the queue's
//! order is the commit order, so one entity's writes apply in the order it made them.

use std::future::IntoFuture;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{Notify, mpsc};
use tracing::Instrument;

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
    /// The span of the command that queued it, for the commit's span to link to.
    traced_by: Option<opentelemetry::trace::SpanContext>,
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
            traced_by: crate::telemetry::trace_context::current_span_context(),
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
    let metrics = CommitMetrics::new();
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let span = if crate::telemetry::trace_context::spans_on() {
            tracing::debug_span!(parent: None, "store.commit", writes = batch.len())
        } else {
            tracing::Span::none()
        };
        crate::telemetry::trace_context::link_all(
            &span,
            batch.iter_mut().filter_map(|q| q.traced_by.take()),
        );
        let (writes, commits): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|q| (q.write, q.commit)).unzip();
        let started = std::time::Instant::now();
        metrics.batch_size.record(writes.len() as f64);
        let results = commit_batch(&*store, writes).instrument(span).await;
        metrics.record(started.elapsed(), &results);
        for (commit, result) in commits.iter().zip(results) {
            commit.0.complete(result);
        }
        news.notify_waiters();
    }
}

/// The commit metrics, registered once per committer.
struct CommitMetrics {
    duration: metrics::Histogram,
    batch_size: metrics::Histogram,
    conflicts: metrics::Counter,
    store_failures: metrics::Counter,
}

impl CommitMetrics {
    fn new() -> Self {
        use crate::telemetry::names;
        Self {
            duration: metrics::histogram!(names::STORE_COMMIT_DURATION),
            batch_size: metrics::histogram!(names::STORE_COMMIT_BATCH_SIZE),
            conflicts: metrics::counter!(names::STORE_COMMIT_FAILURES, "kind" => "conflict"),
            store_failures: metrics::counter!(names::STORE_COMMIT_FAILURES, "kind" => "store"),
        }
    }

    fn record(&self, took: Duration, results: &[CommitResult]) {
        self.duration.record(took);
        for result in results {
            match result {
                Err(WriteError::Conflict { .. }) => self.conflicts.increment(1),
                Err(WriteError::Store(_)) => self.store_failures.increment(1),
                _ => {}
            }
        }
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
    use crate::store::{Intercept, Intercepted, SqliteStore, StateWrite};

    fn write(entity: &str, expected: u64) -> StateWrite {
        StateWrite {
            type_id: "t".into(),
            entity_id: entity.into(),
            expected_version: expected,
            follows_own_write: false,
            payload: Some(bytes::Bytes::from_static(b"1")),
            timers: Vec::new(),
            kept_reply: None,
            trace_parent: None,
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

    /// SQLite, but a commit fails as a whole when the fault says so.
    struct Fault(fn(&[Write]) -> Option<StoreError>);

    impl Intercept for Fault {
        fn commit(
            &self,
            inner: &dyn Store,
            writes: Vec<Write>,
        ) -> BoxFuture<'static, Result<Vec<CommitResult>, StoreError>> {
            match (self.0)(&writes) {
                Some(error) => Box::pin(async { Err(error) }),
                None => inner.commit(writes),
            }
        }
    }

    fn faulty_store(fault: fn(&[Write]) -> Option<StoreError>) -> Arc<Intercepted<Fault>> {
        let inner = Arc::new(SqliteStore::memory().unwrap());
        Arc::new(Intercepted::new(inner, Fault(fault)))
    }

    #[tokio::test]
    async fn a_write_the_database_refuses_fails_alone_and_its_batch_commits() {
        // As PostgreSQL fails a transaction holding an id over its index's row size.
        let store = faulty_store(|writes| {
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
        assert_eq!(store.inner().state_version("t", "a").await, Ok(1));
        assert_eq!(store.inner().state_version("t", "b").await, Ok(1));
    }

    #[tokio::test]
    async fn finding_a_refused_write_in_a_large_batch_takes_a_few_transactions() {
        static COMMITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let store = faulty_store(|writes| {
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
        let store = faulty_store(|_| Some(StoreError::new("disk full")));
        let committer = GroupCommitter::start(store);
        let first = committer.submit(write("a", 0));
        let second = committer.submit(write("b", 0));
        assert!(matches!(first.await, Err(WriteError::Store(e)) if !e.is_rejected_write()));
        assert!(matches!(second.await, Err(WriteError::Store(_))));
    }
}
