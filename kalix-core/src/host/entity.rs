//! The entity host: the command loop every entity kind shares, generic over what the kind
//! persists (a state row, a journal with snapshots; next, a workflow's state and position).
//!
//! Each entity id has a slot holding what the host keeps of it, behind a fair (FIFO) async mutex,
//! so commands to one id run one at a time in arrival order while different ids run in parallel.
//! A command holds the lock only to run its (synchronous) handler and queue its write; it then
//! waits for its commit without the lock, so a hot entity's commands flow into the group commit
//! one after another. Each reply still waits for its own commit (and a read for the last write
//! before it), and a failed commit, a failed step or a panic marks the entity stale: it is
//! reloaded from the store before its next command, and commands computed on top of a failed
//! write fail their version check too.
//!
//! On a store other processes share, a read first checks that the entity did not move there. A
//! command builds on the entity's own write in flight there too: its write is marked as
//! following that write, and the store refuses it if the write before it failed and another
//! process produced the version it expects (see `Store::commit`).
//!
//! Slots of idle entities are dropped after the passivation timeout, and the number of slots is
//! bounded per type: past the bound the least recently used idle slot is dropped.
//!
//! ## Value entities and the store (how it works, and why)
//!
//! **Store.** `Store` keeps versioned state rows keyed by (type id, entity id). Every write says which
//! version it expects (0 for none); a write whose expectation does not hold is refused as a conflict and
//! never overwrites. `commit(writes)` applies a batch in one transaction, in order; a conflict refuses
//! that write only. A delete leaves a tombstone with the next version, so versions never go back (what a
//! second process sharing the database will need). SQLite is the embedded default: one file, WAL,
//! `synchronous=FULL`, a writer connection and a reader connection; `sqlite::memory:` is one in-memory
//! connection. The conformance suite (`kalix_testkit::store_conformance`) is what any backend
//! must pass; it runs on SQLite in memory and on files.
//!
//! **Group commit.** Writes from all entities go into one queue; one task commits whatever has queued
//! since its last commit as one transaction (up to 1024) and answers each writer with its own result.
//! The queue's order is the commit order. When the database refuses the transaction for one write's
//! content (`StoreError::rejected_write`: PostgreSQL's data-exception, integrity and program-limit
//! errors), the committer commits the batch again in halves, in order, and splits again where a half
//! is refused, so only that write fails; any other store failure fails the whole batch (it is everyone's). Entity ids are checked
//! against one rule before any store sees them, so a bad id is a 400, not a refused batch.
//!
//! **SQLite files.** A database file belongs to one process: `<file>.lock` is locked (`flock`) while a
//! store has it open, and a second process stops at start with a message pointing to PostgreSQL (a
//! second process would serve reads from its own memory, stale for up to the passivation time). A store
//! reopened in the same process (a test restarting the service) shares the lock. At start the store
//! writes one row, so a read-only database stops the start; at every commit it checks the file is still
//! the one it opened (device and inode, once per batch, after its commit), and once it is not, no write is
//! acknowledged again and the log says so.
//!
//! **Entity host.** One host runs every entity kind (`EntityHost<K: EntityKind>` in
//! `host/entity.rs`); a kind says what it keeps of an entity, how it loads one and how its stored
//! position is read, and each command supplies a step that runs the handler and says what to write and
//! answer. Each id has a slot: what the kind keeps, its position (state version or last sequence
//! number), and the last write not yet known to be committed, behind a fair (FIFO) async mutex. A command locks the slot, (re)loads the state if
//! needed, runs the synchronous handler, queues its write and updates the slot, then releases the lock
//! and waits for its own commit before replying. So commands to one id run one at a time in arrival
//! order, but a hot entity's commands do not wait for each other's commits: they flow into the group
//! commit back to back, each computed on its predecessor's state, each reply still sent only after its
//! own commit. A read (no state change) waits for the entity's last write, so no reply shows
//! uncommitted state. If a commit fails, that writer gets a 503, the slot is marked stale and reloaded
//! before the next command, and writes already computed on top of the failed one fail their version
//! check. A panicking handler gives a 500 and marks the slot stale too (Kalix restarts a failed entity).
//!
//! **Memory.** Slots sit in 64 shards. A slot is dropped only when nobody holds it and its last write
//! is committed: by the sweeper once idle past the passivation timeout, or when a shard is over its
//! share of `KALIX_MAX_ACTIVE_ENTITIES` (least recently used first). A dropped entity reloads from the
//! store on its next command.
//!
//! **Typed client.** `client.value_entity::<E>(id)` returns the generated client bound to the id; each
//! method fills the id path parameter. The same `Call` runs in-process through the dispatcher, or over
//! HTTP through `kalix_testkit::HttpTransport`, which turns it into the handler's route
//! (`HttpRequest::of`).
//!
//! **State migration.** A value entity with `migration = M` stores its state as
//! `{"kalix-state-version": N, "state": ..}` (`value_entity::stored_state_json`); reading one
//! (`current_state_json`, in the host's load and as the `migrate` hook of its subscriptions' and
//! views' descriptors) unwraps it and runs `M::transform` when it was written at an older version,
//! a plain state counting as version 0. Entities without a migration keep their states as they are.
//!
//! **Kept replies.** A command carrying an idempotency key (the dispatcher reads it into a
//! `CommandKey`: the handler, path parameters and key, and a digest of the request) keeps its
//! reply in its write (`StateWrite::kept_reply`, `EventAppend::kept_reply`), or, if it changed
//! nothing, in a write of its own (`Write::Reply`) before it is answered. The store inserts the
//! key before it applies the write, in the same transaction: a key kept already refuses the write
//! (`WriteError::KeyUsed`), and a write that does not apply deletes the key again. A refused write
//! means the command was a repeat: the entity reloads and the kept reply is the answer
//! (`host/kept.rs`; another request under the key is a 422). So two runs of one key, concurrent in
//! one process (the second stacked on the first's write) or on two processes, apply once, and a
//! keyed command costs no read before it runs. The retention driver purges replies older than
//! `KALIX_IDEMPOTENCY_RETENTION`. The rules are the `idempotency` module's.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;

use super::slots::{Resident, Slot, Slots};
use crate::action::SideEffect;
use crate::error::CallError;
use crate::idempotency::CommandKey;
use crate::log_limit::LogLimit;
use crate::outcome::{Answer, HandlerOutcome};
use crate::runtime::ComponentEnv;
use crate::status::ErrorCode;
use crate::store::{GroupCommitter, Store, StoreError, Write, WriteError};

/// What differs between kinds of entity: what the host keeps of one, how it is loaded, and how
/// its stored position is read.
pub trait EntityKind: Send + Sync + 'static {
    /// The entity type's storage namespace.
    const TYPE_ID: &'static str;
    /// The component id, for messages.
    const COMPONENT_ID: &'static str;
    /// What the host keeps of a loaded entity between commands.
    type Memory: Send + 'static;
    /// Whether one process at a time writes an entity: then, on a shared store, a read checks
    /// that the entity did not move on another process. A kind whose processes all write
    /// (replicated entities) hears of other processes' writes instead.
    const SINGLE_WRITER: bool = true;

    /// Loads an entity from `store`: what is kept of it and its position (the version of its
    /// state, or its journal's last sequence number).
    fn load(
        &self,
        store: &dyn Store,
        entity_id: &str,
    ) -> impl Future<Output = Result<(Self::Memory, u64), CallError>> + Send;

    /// The entity's position as stored now.
    fn stored_position(store: &dyn Store, entity_id: &str) -> StoredPosition;
}

/// A read of an entity's position in the store.
pub type StoredPosition = BoxFuture<'static, Result<u64, StoreError>>;

/// What a command decided, its handler run and its memory updated.
pub(crate) struct Decision<R> {
    /// What to commit, if the command changed anything.
    pub persist: Option<Persist>,
    /// What the caller gets once the commit is done.
    pub answer: Answer<R>,
    /// Run once the commit is done.
    pub side_effects: Vec<SideEffect>,
    /// Awaited before the write is queued, with the entity still locked: what must be durable
    /// before the change is (a workflow's watchdog timer). If it fails, nothing is written,
    /// the entity reloads, and the caller gets its error.
    pub before_commit: Option<BoxFuture<'static, Result<(), CallError>>>,
}

/// A command's write and the entity's position once it is committed.
pub(crate) struct Persist {
    pub write: Write,
    pub position: u64,
}

/// The entities of one type at run time: their kind and their slots.
pub struct EntityHost<K: EntityKind> {
    kind: K,
    slots: Arc<Slots<K::Memory>>,
    store: Arc<dyn Store>,
    committer: GroupCommitter,
}

impl<K: EntityKind> EntityHost<K> {
    /// Hosts the entities of `kind` and starts their passivation sweeper.
    pub fn new(kind: K, env: &ComponentEnv<'_>) -> Arc<Self> {
        Arc::new(Self {
            kind,
            slots: Slots::start(env.entities, K::COMPONENT_ID),
            store: Arc::clone(&env.store),
            committer: env.committer.clone(),
        })
    }

    /// Runs one command on entity `entity_id`: `step` runs the handler on what is kept of the
    /// entity (given its position), updates it, and says what to commit and answer.
    pub(crate) async fn run_command<R: Serialize + Send + 'static>(
        &self,
        entity_id: &str,
        step: impl FnOnce(&K, &mut K::Memory, u64) -> Result<Decision<R>, CallError>,
    ) -> HandlerOutcome {
        self.run_keyed_command(entity_id, None, step).await
    }

    /// As [`EntityHost::run_command`], for a command that may carry an idempotency key: a scope
    /// kept already is answered with its reply, and otherwise the reply is kept with the write
    /// (see `host/kept.rs`).
    ///
    /// The key is not looked up before the command runs: repeats are rare, and a read per
    /// command would cost every keyed command a round trip to the store. The reply goes into the
    /// write instead, and the store refuses the write of a scope kept already
    /// ([`WriteError::KeyUsed`]): then the entity reloads (its memory has the repeat's change)
    /// and the kept reply is the answer. Only where nothing would be written under the key (a
    /// 5xx, a failed or panicking handler) or something happens before the commit (a workflow's
    /// timers) is the key looked up first, with the entity still locked.
    pub(crate) async fn run_keyed_command<R: Serialize + Send + 'static>(
        &self,
        entity_id: &str,
        key: Option<&CommandKey>,
        step: impl FnOnce(&K, &mut K::Memory, u64) -> Result<Decision<R>, CallError>,
    ) -> HandlerOutcome {
        if let Err(bad_id) = super::entity_id::check(K::TYPE_ID, entity_id) {
            return HandlerOutcome::error(bad_id);
        }
        let slot = self.slots.get_or_insert(entity_id);
        let shared = self.store.is_shared();
        let load = || async {
            let (memory, position) = self.kind.load(&*self.store, entity_id).await?;
            Ok(Resident::loaded(memory, position))
        };
        let mut cell = match slot.lock_current(load).await {
            Ok(cell) => cell,
            Err(error) => return HandlerOutcome::error(error),
        };
        let resident = cell.as_mut().expect("lock_current loads the entity");
        // Where every process writes (a replicated entity), no version refuses a write stacked
        // on a refused one: a keyed command runs alone, once the entity's writes in flight are
        // in (so a repeat finds the first run's reply), and holds the entity until its own
        // write is in (so nothing stacks on it). Keys are the exception; others keep flowing.
        let alone = key.is_some() && !K::SINGLE_WRITER;
        if alone {
            if let Some(own) = resident.pending.clone()
                && let Err(error) = own.await
            {
                slot.stale.store(true, Ordering::Release);
                return commit_failed(K::TYPE_ID, entity_id, &error);
            }
            if let Some(key) = key
                && let Some(answer) = self.kept_answer(entity_id, key).await
            {
                return answer;
            }
        }
        let position = resident.position;
        // The handler (and for a journal the event handler and the reply) are user code: after a
        // panic, or a step that failed half way, what is kept may be partly updated, so the
        // entity is rebuilt from the store, as Kalix restarts a failed entity.
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            step(&self.kind, &mut resident.memory, position)
        }));
        let mut decision = match run {
            Ok(Ok(decision)) => decision,
            Ok(Err(error)) => {
                slot.stale.store(true, Ordering::Release);
                return self
                    .kept_or(entity_id, key, HandlerOutcome::error(error))
                    .await;
            }
            Err(panic) => {
                slot.stale.store(true, Ordering::Release);
                let failed = HandlerOutcome::error(crate::outcome::panic_error(
                    K::COMPONENT_ID,
                    entity_id,
                    panic.as_ref(),
                ));
                // A repeat whose run failed (its first run changed what it checks) still gets
                // the kept reply.
                return self.kept_or(entity_id, key, failed).await;
            }
        };
        let kept = key.and_then(|key| crate::idempotency::kept_of_answer(key, &decision.answer));
        // The reply as the kept row holds it: answered as it is, not serialized again.
        let kept_body = kept
            .as_ref()
            .filter(|kept| {
                matches!(decision.answer, Answer::Reply(..)) && kept.content_type.is_some()
            })
            .map(|kept| kept.body.clone());
        if let Some(key) = key
            && (kept.is_none() || decision.before_commit.is_some())
            && let Some(answer) = self.kept_answer(entity_id, key).await
        {
            // A repeat: what it did to the entity's memory is dropped with a reload.
            slot.stale.store(true, Ordering::Release);
            return answer;
        }
        let (persist, keep_alone) = match (decision.persist, kept) {
            (Some(mut persist), Some(kept)) => {
                super::kept::keep_with(&mut persist.write, kept);
                (Some(persist), None)
            }
            (None, Some(kept)) => (
                None,
                Some(super::kept::keep_alone(K::TYPE_ID, entity_id, kept)),
            ),
            (persist, None) => (persist, None),
        };
        let commit = match persist {
            None => {
                // A read on a shared store must see writes other processes acknowledged: once
                // the entity's own write is in, if the entity moved since it was loaded, reload it
                // and run the command again. (A write needs no such check: its position check at
                // commit refuses a stale write.)
                if shared && K::SINGLE_WRITER {
                    if let Some(own) = resident.pending.clone() {
                        let _ = own.await;
                    }
                    if self.moved_elsewhere(position, entity_id).await {
                        return moved_on_other_process(&slot, K::TYPE_ID, entity_id);
                    }
                }
                match keep_alone {
                    // Kept once the entity's own write in flight (which the reply may have
                    // read) is in: the reply is kept only if what it answered is durable.
                    Some(write) => {
                        if let Some(own) = resident.pending.clone()
                            && let Err(error) = own.await
                        {
                            slot.stale.store(true, Ordering::Release);
                            return commit_failed(K::TYPE_ID, entity_id, &error);
                        }
                        // What must precede the reply's keeping (a workflow's timers): a repeat
                        // answered with the reply must find it done.
                        if let Some(before) = decision.before_commit.take()
                            && let Err(error) = before.await
                        {
                            return HandlerOutcome::error(error);
                        }
                        Some(self.committer.submit(write))
                    }
                    None => resident.pending.clone(),
                }
            }
            Some(Persist {
                mut write,
                position,
            }) => {
                if let Some(before) = decision.before_commit
                    && let Err(error) = before.await
                {
                    slot.stale.store(true, Ordering::Release);
                    return HandlerOutcome::error(error);
                }
                // Built on the entity's own write still in flight: the store refuses it if that
                // write fails and another process takes its place.
                if resident.pending.is_some() {
                    write.follow_own_write();
                }
                let commit = self.committer.submit(write);
                resident.position = position;
                resident.pending = Some(commit.clone());
                Some(commit)
            }
        };
        let held = match alone {
            true => Some(cell),
            false => {
                drop(cell);
                None
            }
        };
        let committed = match commit {
            Some(commit) => commit.await,
            None => Ok(0),
        };
        drop(held);
        if let Err(error) = committed {
            slot.stale.store(true, Ordering::Release);
            if let (WriteError::KeyUsed, Some(key)) = (&error, key)
                && let Some(answer) = self.kept_answer(entity_id, key).await
            {
                return answer;
            }
            return commit_failed(K::TYPE_ID, entity_id, &error);
        }
        super::answered_as(decision.answer, decision.side_effects, kept_body)
    }

    /// The reply kept under `key`, if the command has a key and it was kept; else `outcome`.
    async fn kept_or(
        &self,
        entity_id: &str,
        key: Option<&CommandKey>,
        outcome: HandlerOutcome,
    ) -> HandlerOutcome {
        match key {
            Some(key) => self.kept_answer(entity_id, key).await.unwrap_or(outcome),
            None => outcome,
        }
    }

    /// Reads what is kept of entity `entity_id` (loading it if needed) with `read`, once its
    /// writes in flight are committed: it never sees a change that may still fail. On a shared
    /// store it is reloaded first if another process moved it.
    pub(crate) async fn inspect<T>(
        &self,
        entity_id: &str,
        read: impl FnOnce(&K::Memory) -> T,
    ) -> Result<T, CallError> {
        let slot = self.slots.get_or_insert(entity_id);
        let load = || async {
            let (memory, position) = self.kind.load(&*self.store, entity_id).await?;
            Ok(Resident::loaded(memory, position))
        };
        let mut checked_elsewhere = !self.store.is_shared() || !K::SINGLE_WRITER;
        loop {
            let cell = slot.lock_current(load).await?;
            let resident = cell.as_ref().expect("lock_current loads the entity");
            let (position, pending) = (resident.position, resident.pending.clone());
            let settled = pending
                .as_ref()
                .is_none_or(|commit| commit.peek().is_some());
            if settled && checked_elsewhere {
                return Ok(read(&resident.memory));
            }
            drop(cell);
            if let Some(own) = pending {
                let _ = own.await;
            }
            if !checked_elsewhere {
                if self.moved_elsewhere(position, entity_id).await {
                    slot.stale.store(true, Ordering::Release);
                }
                checked_elsewhere = true;
            }
        }
    }

    /// Marks entity `entity_id`, if it is in memory, to be loaded again before its next command
    /// (once its own writes in flight are in).
    pub(crate) fn reload_before_next(&self, entity_id: &str) {
        if let Some(slot) = self.slots.get(entity_id) {
            slot.stale.store(true, Ordering::Release);
        }
    }

    /// Whether entity `entity_id` has a slot.
    pub(crate) fn is_resident(&self, entity_id: &str) -> bool {
        self.slots.get(entity_id).is_some()
    }

    /// Changes what is kept of entity `entity_id` with `change`, if it is loaded and current (a
    /// stale one is loaded again before its next command anyway); waits for the entity's lock.
    pub(crate) async fn update_resident(
        &self,
        entity_id: &str,
        change: impl FnOnce(&mut K::Memory),
    ) {
        let Some(slot) = self.slots.get(entity_id) else {
            return;
        };
        let mut cell = slot.cell.lock().await;
        if slot.stale.load(Ordering::Acquire) {
            return;
        }
        if let Some(resident) = cell.as_mut() {
            change(&mut resident.memory);
        }
    }

    /// Marks every entity in memory to be loaded again before its next command.
    pub(crate) fn reload_all_before_next(&self) {
        self.slots.mark_all_stale();
    }

    /// The store the entities are kept in.
    pub(crate) fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The kind, with what it keeps beside the entities.
    pub(crate) fn kind(&self) -> &K {
        &self.kind
    }

    /// On a shared store: whether another process wrote the entity since it was loaded here (its
    /// own writes are committed by then).
    async fn moved_elsewhere(&self, position: u64, entity_id: &str) -> bool {
        match K::stored_position(&*self.store, entity_id).await {
            Ok(stored) => stored != position,
            Err(_) => true,
        }
    }
}

/// A read on a shared store found the entity moved by another process: the slot reloads and the
/// dispatcher runs the command again.
fn moved_on_other_process<M>(slot: &Slot<M>, type_id: &str, entity_id: &str) -> HandlerOutcome {
    slot.stale.store(true, std::sync::atomic::Ordering::Release);
    HandlerOutcome::conflict(CallError::new(
        ErrorCode::SERVICE_UNAVAILABLE,
        format!("{type_id} '{entity_id}' kept changing on other processes; retry the command"),
    ))
}

/// What a command whose commit failed comes to: a conflict is run again by the dispatcher; a
/// store failure is a 503 saying to retry. Either way the entity reloads before its next command.
fn commit_failed(type_id: &str, entity_id: &str, error: &WriteError) -> HandlerOutcome {
    match error {
        WriteError::Conflict { .. } => {
            HandlerOutcome::conflict(commit_error(type_id, entity_id, error))
        }
        WriteError::Deleted => HandlerOutcome::error(crate::event_sourced_entity::deleted_error(
            type_id, entity_id,
        )),
        // Another command with the same key committed first: run again, the command finds its
        // kept reply.
        WriteError::KeyUsed => HandlerOutcome::conflict(CallError::new(
            ErrorCode::SERVICE_UNAVAILABLE,
            format!(
                "{type_id} '{entity_id}' ran a command with this idempotency key concurrently; retry"
            ),
        )),
        // Retrying cannot help a write the database refuses for what it holds.
        WriteError::Store(refused) if refused.is_rejected_write() => {
            HandlerOutcome::error(CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!(
                    "the database refused the change to {type_id} '{entity_id}'; the service log has the details"
                ),
            ))
        }
        WriteError::Store(_) => HandlerOutcome::error(commit_error(type_id, entity_id, error)),
    }
}

static COMMIT_FAILED: LogLimit = LogLimit::per(Duration::from_secs(10));

fn commit_error(type_id: &str, entity_id: &str, error: &WriteError) -> CallError {
    match error {
        WriteError::Conflict { .. } => {
            tracing::warn!(%error, type_id, entity_id, "write conflict; the entity will be reloaded");
            CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!("{type_id} '{entity_id}' was changed concurrently; retry the command"),
            )
        }
        WriteError::Store(_) | WriteError::Deleted | WriteError::KeyUsed => {
            if let Some(left_out) = COMMIT_FAILED.admit() {
                tracing::error!(%error, type_id, entity_id, left_out, "commit failed");
            }
            CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!(
                    "the change to {type_id} '{entity_id}' could not be committed; retry the command"
                ),
            )
        }
    }
}
