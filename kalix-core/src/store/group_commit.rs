//! Group commit: concurrent writes are queued, and one task commits whatever has queued up since
//! its last commit in a single transaction. Each writer waits for its own result; the queue's
//! order is the commit order, so one entity's writes apply in the order it made them.

use std::future::IntoFuture;
use std::sync::{Arc, OnceLock};

use futures_util::future::BoxFuture;
use tokio::sync::{Notify, mpsc};

use super::{Store, StoreError, Write, WriteError};

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
    Err(WriteError::Store(StoreError(
        "the committer has stopped".into(),
    )))
}

/// Batches writes to a [`Store`] into transactions.
#[derive(Clone)]
pub struct GroupCommitter {
    queue: mpsc::UnboundedSender<Queued>,
}

impl GroupCommitter {
    /// Starts the commit task on the current tokio runtime; it ends when every handle is dropped.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(store, receiver));
        Self { queue }
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

async fn run(store: Arc<dyn Store>, mut receiver: mpsc::UnboundedReceiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, commits): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|q| (q.write, q.commit)).unzip();
        let count = writes.len();
        match store.commit(writes).await {
            Ok(results) => {
                for (commit, result) in commits.iter().zip(results) {
                    commit.0.complete(result);
                }
            }
            Err(error) => {
                tracing::error!(%error, writes = count, "commit failed; every write of the batch fails");
                for commit in &commits {
                    commit.0.complete(Err(WriteError::Store(error.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SqliteStore, StateWrite};

    fn write(entity: &str, expected: u64) -> StateWrite {
        StateWrite {
            type_id: "t".into(),
            entity_id: entity.into(),
            expected_version: expected,
            payload: Some(bytes::Bytes::from_static(b"1")),
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
}
