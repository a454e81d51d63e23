//! The writes that are not entity changes (consumers' progress, topic messages, timers, view
//! rows), combined: whatever queued while the writer was busy is committed in one transaction,
//! so one `fsync` serves them all instead of one each. Each write runs in a savepoint of its
//! own, so a write that fails (or panics) is rolled back alone and the others commit; each
//! caller hears its result only after the commit. A write that queued alone runs in its own
//! transaction, as it would without the queue.
//!
//! Without this, every consumer pass, every publish and every timer start was a commit of its
//! own, competing with the entities' group commits for the one SQLite writer: subscribers cut
//! the writers' throughput, and timers started at the rate of `fsync`s.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{OpenFile, sqlite_error};
use crate::store::StoreError;

/// A queued write: given the connection (or why it cannot run), it runs and says whether it
/// applied, and how to tell its caller once the transaction's fate is known.
type Job = Box<dyn FnOnce(Result<&mut Connection, &StoreError>) -> Ran + Send>;

/// What a job did, and how to deliver its result once the transaction commits (or not).
struct Ran {
    applied: bool,
    deliver: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

/// The queue of combined writes.
#[derive(Default)]
pub(super) struct OutsideWrites {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// Whether a thread is committing the queue; it takes what queues meanwhile.
    flushing: bool,
}

/// The most writes one combined transaction takes: a long queue is committed in parts, so no
/// caller waits behind an unbounded transaction.
const MAX_COMBINED: usize = 512;

impl OutsideWrites {
    /// Queues `work` and returns its result once the transaction it ran in committed.
    pub(super) fn run<T: Send + 'static>(
        self: &Arc<Self>,
        writer: Arc<Mutex<Connection>>,
        file: Option<Arc<OpenFile>>,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let this = Arc::clone(self);
        Box::pin(async move {
            let (sender, receiver) = oneshot::channel();
            let job: Job = Box::new(move |connection| {
                let result = match connection {
                    Ok(connection) => work(connection),
                    Err(error) => Err(error.clone()),
                };
                Ran {
                    applied: result.is_ok(),
                    deliver: Box::new(move |committed| {
                        let _ = sender.send(committed.and(result));
                    }),
                }
            });
            let start = {
                let mut queue = this.queue.lock().unwrap_or_else(|p| p.into_inner());
                queue.jobs.push(job);
                !std::mem::replace(&mut queue.flushing, true)
            };
            if start {
                tokio::task::spawn_blocking(move || this.flush(&writer, file.as_deref()));
            }
            receiver.await.unwrap_or_else(|_| {
                Err(StoreError::new(
                    "a store write panicked; it was rolled back",
                ))
            })
        })
    }

    /// Commits the queue, part by part, until it is empty.
    fn flush(&self, writer: &Mutex<Connection>, file: Option<&OpenFile>) {
        loop {
            let jobs: Vec<Job> = {
                let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                if queue.jobs.is_empty() {
                    queue.flushing = false;
                    return;
                }
                let take = queue.jobs.len().min(MAX_COMBINED);
                queue.jobs.drain(..take).collect()
            };
            let mut connection = writer.lock().unwrap_or_else(|p| p.into_inner());
            commit_together(&mut connection, file, jobs);
        }
    }
}

/// Runs `jobs` in one transaction, each in a savepoint, and delivers their results after it.
/// A job alone runs as it is, in its own transaction: savepoints cost SQLite a copy of each
/// page they change, which a write alone does not need.
fn commit_together(connection: &mut Connection, file: Option<&OpenFile>, mut jobs: Vec<Job>) {
    if jobs.len() == 1 {
        let job = jobs.pop().expect("one job");
        if let Some(Err(error)) = file.map(OpenFile::refuse_if_vanished) {
            (job(Err(&error)).deliver)(Err(error.clone()));
            return;
        }
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| job(Ok(connection))));
        if !connection.is_autocommit() {
            let _ = connection.execute_batch("ROLLBACK");
        }
        if let Ok(outcome) = outcome {
            (outcome.deliver)(file.map_or(Ok(()), OpenFile::check_still_there));
        }
        return;
    }
    let begun = file
        .map_or(Ok(()), OpenFile::refuse_if_vanished)
        .and_then(|()| {
            connection
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(sqlite_error)
        });
    if let Err(error) = begun {
        for job in jobs {
            (job(Err(&error)).deliver)(Err(error.clone()));
        }
        return;
    }
    let mut ran = Vec::with_capacity(jobs.len());
    let mut broken: Option<StoreError> = None;
    for job in jobs {
        if let Some(error) = &broken {
            ran.push(job(Err(error)));
            continue;
        }
        if let Err(error) = connection
            .execute_batch("SAVEPOINT kalix_write")
            .map_err(sqlite_error)
        {
            ran.push(job(Err(&error)));
            broken = Some(error);
            continue;
        }
        // A panicking write loses its result (its caller hears of the panic) and is rolled
        // back; the writes beside it go on.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| job(Ok(connection))));
        let applied = matches!(&outcome, Ok(ran) if ran.applied);
        let close = if applied {
            "RELEASE kalix_write"
        } else {
            "ROLLBACK TO kalix_write; RELEASE kalix_write"
        };
        if let Err(error) = connection.execute_batch(close).map_err(sqlite_error) {
            broken = Some(error);
        }
        if let Ok(outcome) = outcome {
            ran.push(outcome);
        }
    }
    let committed = match broken {
        Some(error) => Err(error),
        None => connection
            .execute_batch("COMMIT")
            .map_err(sqlite_error)
            // Checked after the commit: a file deleted during it took the writes with it.
            .and_then(|()| file.map_or(Ok(()), OpenFile::check_still_there)),
    };
    if committed.is_err() && !connection.is_autocommit() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    for outcome in ran {
        (outcome.deliver)(committed.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use crate::store::StoreError;

    fn rows(store: &SqliteStore) -> Vec<i64> {
        let connection = store.writer.lock().unwrap();
        let mut statement = connection.prepare("SELECT n FROM t ORDER BY n").unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[tokio::test]
    async fn queued_writes_each_get_their_result_and_a_failing_one_is_rolled_back_alone() {
        let store = SqliteStore::memory().unwrap();
        store
            .write_outside_batches(|c| {
                c.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
                    .map_err(super::sqlite_error)
            })
            .await
            .unwrap();
        let writes = (0..50).map(|n: i64| {
            // As the store's writes do, each in a savepoint of its own.
            store.write_outside_batches(move |c| {
                let savepoint = c.savepoint().map_err(super::sqlite_error)?;
                savepoint
                    .execute("INSERT INTO t (n) VALUES (?1)", [n])
                    .map_err(super::sqlite_error)?;
                if n % 10 == 3 {
                    // Written, then refused: its row must not stay.
                    return Err(StoreError::new(format!("refused {n}")));
                }
                if n == 7 {
                    panic!("a write panics");
                }
                savepoint.commit().map_err(super::sqlite_error)?;
                Ok(n)
            })
        });
        let results = futures_util::future::join_all(writes).await;
        for (n, result) in results.iter().enumerate() {
            match n {
                7 => assert!(result.as_ref().unwrap_err().message().contains("panicked")),
                n if n % 10 == 3 => assert_eq!(
                    result.as_ref().unwrap_err().message(),
                    format!("refused {n}")
                ),
                n => assert_eq!(result.as_ref().ok(), Some(&(n as i64))),
            }
        }
        let expected: Vec<i64> = (0..50).filter(|n| n % 10 != 3 && *n != 7).collect();
        assert_eq!(rows(&store), expected);
        // The writer goes on after a panic.
        store
            .write_outside_batches(|c| {
                c.execute("INSERT INTO t (n) VALUES (100)", [])
                    .map_err(super::sqlite_error)
            })
            .await
            .unwrap();
        assert_eq!(rows(&store).last(), Some(&100));
    }
}
