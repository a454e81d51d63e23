//! Group commit: concurrent writes are queued, and one task commits whatever has queued up since
//! its last commit in a single transaction. Each writer waits for its own result; the queue's
//! order is the commit order, so one entity's writes apply in the order it made them.

use std::sync::Arc;

use futures_util::future::{BoxFuture, FutureExt, Shared};
use tokio::sync::{mpsc, oneshot};

use super::{Store, StoreError, Write, WriteError};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 1024;

/// The result of one write, shared by whoever waits on it.
pub type CommitResult = Result<u64, WriteError>;

/// A commit that completes once the write is durable (or refused).
pub type PendingCommit = Shared<BoxFuture<'static, CommitResult>>;

struct Queued {
    write: Write,
    done: oneshot::Sender<CommitResult>,
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
        let write = write.into();
        let (done, result) = oneshot::channel();
        let queued = self.queue.send(Queued { write, done }).is_ok();
        let stopped = || {
            Err(WriteError::Store(StoreError(
                "the committer has stopped".into(),
            )))
        };
        let commit = async move {
            if !queued {
                return stopped();
            }
            result.await.unwrap_or_else(|_| stopped())
        }
        .boxed()
        .shared();
        // Driven to completion even if every waiter goes away (a client that disconnects), so the
        // entity's slot learns the outcome and can be evicted.
        tokio::spawn(commit.clone());
        commit
    }
}

async fn run(store: Arc<dyn Store>, mut receiver: mpsc::UnboundedReceiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, waiters): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|q| (q.write, q.done)).unzip();
        let count = writes.len();
        match store.commit(writes).await {
            Ok(results) => {
                for (waiter, result) in waiters.into_iter().zip(results) {
                    let _ = waiter.send(result);
                }
            }
            Err(error) => {
                tracing::error!(%error, writes = count, "commit failed; every write of the batch fails");
                for waiter in waiters {
                    let _ = waiter.send(Err(WriteError::Store(error.clone())));
                }
            }
        }
    }
}
