//! Entities in the PostgreSQL store: state rows and journals, loaded and committed; kept replies.

use bytes::Bytes;
use futures_util::future::{BoxFuture, try_join_all};

use super::{PostgresStore, db_error, kept, pool_error, timer};
use crate::store::{
    EntityStore, EventAppend, EventLog, KeptReply, Snapshot, StateWrite, StoreError, StoredEvent,
    StoredState, Write, WriteError,
};

impl EntityStore for PostgresStore {
    fn load(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Option<StoredState>, StoreError>> {
        let (store, type_id, entity_id) = (self.clone(), type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(&store.sql.load_state)
                .await
                .map_err(db_error)?;
            let row = client
                .query_opt(&statement, &[&type_id, &entity_id])
                .await
                .map_err(db_error)?;
            Ok(row.map(|row| StoredState {
                version: row.get::<_, i64>(0) as u64,
                payload: row.get::<_, Option<Vec<u8>>>(1).map(Bytes::from),
            }))
        })
    }

    fn commit(
        &self,
        writes: Vec<Write>,
    ) -> BoxFuture<'static, Result<Vec<Result<u64, WriteError>>, StoreError>> {
        let store = self.clone();
        Box::pin(async move {
            // Rows are locked in (type, id) order, the same in every process, so two batches
            // cannot wait on each other in a cycle. The sort is stable: one entity's writes keep
            // their order.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by(|&a, &b| key(&writes[a]).cmp(&key(&writes[b])));
            let sorted: Vec<&Write> = order.iter().map(|&i| &writes[i]).collect();
            let outcome = match commit_in_order(&store, &sorted).await {
                Ok(outcome) => outcome,
                // A lock cycle or serialization failure with another process is a lost race:
                // every writer runs its command again.
                Err(CommitError::Retry) => sorted
                    .iter()
                    .map(|_| {
                        Err(WriteError::Conflict {
                            expected: 0,
                            found: None,
                        })
                    })
                    .collect(),
                Err(CommitError::Store(error)) => return Err(error),
            };
            let mut results: Vec<Option<Result<u64, WriteError>>> = vec![None; writes.len()];
            for (position, result) in order.into_iter().zip(outcome) {
                results[position] = Some(result);
            }
            Ok(results
                .into_iter()
                .map(|result| result.expect("one result per write"))
                .collect())
        })
    }

    fn load_events(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<EventLog, StoreError>> {
        let (store, type_id, entity_id) = (self.clone(), type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached(&store.sql.load_snapshot)
                .await
                .map_err(db_error)?;
            let snapshot = client
                .query_opt(&statement, &[&type_id, &entity_id])
                .await
                .map_err(db_error)?
                .map(|row| Snapshot {
                    seq: row.get::<_, i64>(0) as u64,
                    payload: Bytes::from(row.get::<_, Vec<u8>>(1)),
                });
            let from = snapshot.as_ref().map_or(1, |s| s.seq + 1);
            let events = events_from(&store, &client, &type_id, &entity_id, from).await?;
            let statement = client
                .prepare_cached(&store.sql.is_deleted)
                .await
                .map_err(db_error)?;
            let deleted = client
                .query_opt(&statement, &[&type_id, &entity_id])
                .await
                .map_err(db_error)?
                .is_some();
            Ok(EventLog {
                snapshot,
                events,
                deleted,
            })
        })
    }

    fn read_events(
        &self,
        type_id: &str,
        entity_id: &str,
        from_seq: u64,
    ) -> BoxFuture<'static, Result<Vec<StoredEvent>, StoreError>> {
        let (store, type_id, entity_id) = (self.clone(), type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            let client = store.pool.get().await.map_err(pool_error)?;
            events_from(&store, &client, &type_id, &entity_id, from_seq).await
        })
    }

    fn kept_reply(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>> {
        let store = self.clone();
        let (type_id, entity_id, key) = (type_id.to_owned(), entity_id.to_owned(), key.to_owned());
        Box::pin(async move { kept::reply(&store, &type_id, &entity_id, &key).await })
    }

    fn claim_key(
        &self,
        type_id: &str,
        entity_id: &str,
        claim: KeptReply,
        stale_after_ms: u64,
    ) -> BoxFuture<'static, Result<Option<KeptReply>, StoreError>> {
        let store = self.clone();
        let (type_id, entity_id) = (type_id.to_owned(), entity_id.to_owned());
        Box::pin(async move {
            kept::claim(&store, (&type_id, &entity_id), &claim, stale_after_ms).await
        })
    }

    fn release_key(
        &self,
        type_id: &str,
        entity_id: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let store = self.clone();
        let (type_id, entity_id, key) = (type_id.to_owned(), entity_id.to_owned(), key.to_owned());
        Box::pin(async move { kept::release(&store, (&type_id, &entity_id), &key).await })
    }

    fn purge_kept_replies(
        &self,
        before_ms: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        let store = self.clone();
        Box::pin(async move { kept::purge(&store, before_ms, limit).await })
    }

    fn state_version(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.number(|sql| &sql.state_version, type_id, entity_id)
    }

    fn last_seq(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.number(|sql| &sql.last_seq, type_id, entity_id)
    }
}

type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// Why a batch did not commit.
enum CommitError {
    /// The database refused it for a race with another transaction (deadlock, serialization).
    Retry,
    /// Anything else.
    Store(StoreError),
}

impl From<StoreError> for CommitError {
    fn from(error: StoreError) -> Self {
        CommitError::Store(error)
    }
}

/// The entity a write is for, to order a batch's row locks.
fn key(write: &Write) -> (&str, &str) {
    match write {
        Write::State(write) => (&write.type_id, &write.entity_id),
        Write::Events(append) => (&append.type_id, &append.entity_id),
        Write::Reply(reply) => (&reply.type_id, &reply.entity_id),
        Write::Replica(write) => (&write.type_id, &write.entity_id),
    }
}

/// Per write, whether it is a replica's row that a later write of the batch replaces (and no
/// one waits to confirm it: a write with a token is written, so its notice goes out).
fn superseded_replica_writes(writes: &[&Write]) -> Vec<bool> {
    let mut seen = std::collections::HashSet::new();
    let mut superseded = vec![false; writes.len()];
    for (index, write) in writes.iter().enumerate().rev() {
        if let Write::Replica(write) = write {
            let row = (&write.type_id, &write.entity_id, write.replica);
            superseded[index] = !seen.insert(row) && write.token.is_none();
        }
    }
    superseded
}

/// Applies `writes`, in this order, in one transaction.
async fn commit_in_order(
    store: &PostgresStore,
    writes: &[&Write],
) -> Result<Vec<Result<u64, WriteError>>, CommitError> {
    let mut client = store.pool.get().await.map_err(pool_error)?;
    // A replica's row written again later in the batch is written once, as the later write:
    // a hot replicated entity's commands in one batch cost one row (not one each).
    let superseded = superseded_replica_writes(writes);
    let run = async {
        let mut transaction = client.transaction().await?;
        let mut results = Vec::with_capacity(writes.len());
        let mut index = 0;
        while index < writes.len() {
            // A run of consecutive state writes is pipelined on the connection, in order.
            let run: Vec<&StateWrite> = writes[index..]
                .iter()
                .map_while(|write| match write {
                    Write::State(write) => Some(write),
                    _ => None,
                })
                .collect();
            if !run.is_empty() {
                index += run.len();
                results.extend(write_keyed_states(store, &transaction, &run).await?);
                continue;
            }
            // Any other write goes alone: its key first (a key kept already refuses the write),
            // and forgotten again if the write does not apply.
            let kept = writes[index].kept_reply();
            if let Some(kept) = kept
                && !kept::keep(store, &transaction, kept).await?
            {
                results.push(Err(WriteError::KeyUsed));
                index += 1;
                continue;
            }
            let applied = match writes[index] {
                Write::Events(append) => append_events(store, &mut transaction, append).await?,
                Write::Reply(_) => Ok(0),
                Write::Replica(_) if superseded[index] => Ok(0),
                Write::Replica(write) => super::replica::write(store, &transaction, write).await?,
                Write::State(_) => unreachable!("state writes go in runs"),
            };
            if let Some(kept) = kept
                && applied.is_err()
            {
                kept::forget(store, &transaction, kept).await?;
            }
            results.push(applied);
            index += 1;
        }
        // Wakes other processes' consumers as the transaction commits.
        transaction.batch_execute(&store.sql.notify).await?;
        transaction.commit().await?;
        Ok::<_, tokio_postgres::Error>(results)
    };
    run.await.map_err(|error| {
        let race = error.code().is_some_and(|code| {
            *code == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                || *code == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
        });
        if race {
            CommitError::Retry
        } else {
            CommitError::Store(db_error(error))
        }
    })
}

async fn events_from(
    store: &PostgresStore,
    client: &deadpool_postgres::Client,
    type_id: &str,
    entity_id: &str,
    from: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let statement = client
        .prepare_cached(&store.sql.events_from)
        .await
        .map_err(db_error)?;
    let rows = client
        .query(&statement, &[&type_id, &entity_id, &(from as i64)])
        .await
        .map_err(db_error)?;
    Ok(rows.iter().map(stored_event).collect())
}

/// An event from a row of (seq, type_name, payload).
pub(super) fn stored_event(row: &tokio_postgres::Row) -> StoredEvent {
    StoredEvent {
        seq: row.get::<_, i64>(0) as u64,
        type_name: row.get(1),
        payload: Bytes::from(row.get::<_, Vec<u8>>(2)),
    }
}

/// Applies consecutive state writes, each keeping its reply if it has one, in three rounds: the
/// replies' keys in one statement (a key kept already refuses its write; keyed writes measured
/// 0.60 of unkeyed ones with a statement per key, 0.68-0.75 with one), the writes whose key was
/// free, pipelined in order, and the keys of the writes that did not apply, forgotten again.
async fn write_keyed_states(
    store: &PostgresStore,
    transaction: &Tx<'_>,
    writes: &[&StateWrite],
) -> Result<Vec<Result<u64, WriteError>>, tokio_postgres::Error> {
    if writes.iter().all(|write| write.kept_reply.is_none()) {
        return write_states(store, transaction, writes).await;
    }
    let to_keep: Vec<_> = writes.iter().filter_map(|write| kept_of(write)).collect();
    let mut kept_now = kept::keep_all(store, transaction, &to_keep)
        .await?
        .into_iter();
    let keys: Vec<Option<bool>> = writes
        .iter()
        .map(|write| {
            write
                .kept_reply
                .as_ref()
                .map(|_| kept_now.next().expect("one per reply"))
        })
        .collect();
    let free: Vec<&StateWrite> = writes
        .iter()
        .zip(&keys)
        .filter(|(_, key)| **key != Some(false))
        .map(|(write, _)| *write)
        .collect();
    let mut applied = write_states(store, transaction, &free).await?.into_iter();
    let mut results = Vec::with_capacity(writes.len());
    let mut forget = Vec::new();
    for (write, key) in writes.iter().zip(keys) {
        if key == Some(false) {
            results.push(Err(WriteError::KeyUsed));
            continue;
        }
        let result = applied.next().expect("one result per write applied");
        if result.is_err()
            && let Some(kept) = kept_of(write)
        {
            forget.push(kept);
        }
        results.push(result);
    }
    try_join_all(
        forget
            .into_iter()
            .map(|kept| kept::forget(store, transaction, kept)),
    )
    .await?;
    Ok(results)
}

/// The entity a state write is for and the reply it keeps, if it keeps one.
fn kept_of(write: &StateWrite) -> Option<(&str, &str, &KeptReply)> {
    write
        .kept_reply
        .as_ref()
        .map(|kept| (write.type_id.as_str(), write.entity_id.as_str(), kept))
}

/// Applies consecutive state writes, pipelined; then asks for the versions of the refused ones.
async fn write_states(
    store: &PostgresStore,
    transaction: &Tx<'_>,
    writes: &[&StateWrite],
) -> Result<Vec<Result<u64, WriteError>>, tokio_postgres::Error> {
    let sql = &store.sql;
    let insert = transaction.prepare_cached(&sql.insert_state).await?;
    let update = transaction.prepare_cached(&sql.update_state).await?;
    let update_own = transaction.prepare_cached(&sql.update_own_state).await?;
    let writer = &store.writer;
    let applied = try_join_all(writes.iter().map(|write| {
        let payload = write.payload.as_deref();
        let (insert, update, update_own) = (&insert, &update, &update_own);
        async move {
            if write.expected_version == 0 {
                transaction
                    .execute(
                        insert,
                        &[
                            &write.type_id,
                            &write.entity_id,
                            &payload,
                            writer,
                            &write.trace_parent,
                        ],
                    )
                    .await
            } else {
                let expected = write.expected_version as i64;
                let statement = if write.follows_own_write {
                    update_own
                } else {
                    update
                };
                transaction
                    .execute(
                        statement,
                        &[
                            &write.type_id,
                            &write.entity_id,
                            &expected,
                            &(expected + 1),
                            &payload,
                            writer,
                            &write.trace_parent,
                        ],
                    )
                    .await
            }
        }
    }))
    .await?;
    let version = transaction.prepare_cached(&sql.state_version).await?;
    let mut results = Vec::with_capacity(writes.len());
    for (write, applied) in writes.iter().zip(applied) {
        if applied == 1 {
            for timer in &write.timers {
                timer::upsert(store, transaction, timer).await?;
            }
            results.push(Ok(write.expected_version + 1));
        } else {
            let found = transaction
                .query_opt(&version, &[&write.type_id, &write.entity_id])
                .await?
                .map(|row| row.get::<_, i64>(0) as u64);
            results.push(Err(WriteError::Conflict {
                expected: write.expected_version,
                found,
            }));
        }
    }
    Ok(results)
}

/// Appends events in a savepoint, if the journal ends at the expected sequence number; a
/// concurrent append of the same numbers (another process) makes the insert do nothing, which
/// is a conflict, and the savepoint is rolled back.
async fn append_events(
    store: &PostgresStore,
    transaction: &mut Tx<'_>,
    append: &EventAppend,
) -> Result<Result<u64, WriteError>, tokio_postgres::Error> {
    let sql = &store.sql;
    let savepoint = transaction.transaction().await?;
    // One round trip for both: where the journal ends, and whether the entity was deleted.
    let check = savepoint.prepare_cached(&sql.append_check).await?;
    let row = savepoint
        .query_one(&check, &[&append.type_id, &append.entity_id])
        .await?;
    let (last, last_writer, deleted): (Option<i64>, Option<i64>, bool) =
        (row.get(0), row.get(1), row.get(2));
    if deleted {
        savepoint.rollback().await?;
        return Ok(Err(WriteError::Deleted));
    }
    let last = last.map_or(0, |seq| seq as u64);
    let conflict = |found: u64| {
        Ok(Err(WriteError::Conflict {
            expected: append.expected_seq,
            found: (found > 0).then_some(found),
        }))
    };
    // Following its own append, the writer must find that append, not another's in its place.
    let taken_over = append.follows_own_write && last_writer != Some(store.writer);
    if last != append.expected_seq || taken_over {
        savepoint.rollback().await?;
        return conflict(last);
    }
    let insert = savepoint.prepare_cached(&sql.insert_event).await?;
    let mut seq = last;
    for event in &append.events {
        seq += 1;
        let inserted = savepoint
            .execute(
                &insert,
                &[
                    &append.type_id,
                    &append.entity_id,
                    &(seq as i64),
                    &event.type_name,
                    &&event.payload[..],
                    &store.writer,
                    &append.trace_parent,
                ],
            )
            .await?;
        if inserted == 0 {
            savepoint.rollback().await?;
            return conflict(seq);
        }
    }
    if let Some(snapshot) = &append.snapshot {
        let upsert = savepoint.prepare_cached(&sql.upsert_snapshot).await?;
        savepoint
            .execute(
                &upsert,
                &[
                    &append.type_id,
                    &append.entity_id,
                    &(seq as i64),
                    &&snapshot[..],
                ],
            )
            .await?;
    }
    if append.delete {
        let insert = savepoint.prepare_cached(&sql.insert_deleted).await?;
        savepoint
            .execute(&insert, &[&append.type_id, &append.entity_id])
            .await?;
    }
    savepoint.commit().await?;
    Ok(Ok(seq))
}
