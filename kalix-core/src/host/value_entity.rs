//! The value entity host.
//!
//! Each entity id has a slot holding its state, behind a fair (FIFO) async mutex, so commands to
//! one id run one at a time in arrival order while different ids run in parallel. A command holds
//! the lock only to run its (synchronous) handler and queue its write; it then waits for its
//! commit without the lock, so a hot entity's commands flow into the group commit one after
//! another. Each reply still waits for its own commit (and a read for the last write before it),
//! and a failed commit marks the entity stale: it is reloaded from the store before its next
//! command, and commands computed on top of the failed write fail their version check too.
//!
//! Slots of idle entities are dropped after the passivation timeout, and the number of slots is
//! bounded per type: past the bound the least recently used idle slot is dropped.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use serde::Serialize;

use super::slots::{Resident, Slots};
use super::{Next, await_commit};
use crate::client::ComponentClient;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::outcome::HandlerOutcome;
use crate::registry::ComponentEnv;
use crate::status::ErrorCode;
use crate::store::{GroupCommitter, PendingCommit, StateWrite, Store};
use crate::value_entity::{Effect, StateChange, Then, ValueEntityComponent, ValueEntityContext};

/// A value entity type at run time: the user's component and the slots of its entities.
pub struct ValueEntityRuntime<E: ValueEntityComponent> {
    entity: E,
    slots: Arc<Slots<Loaded<E::State>>>,
    store: Arc<dyn Store>,
    committer: GroupCommitter,
}

struct Loaded<S> {
    state: S,
    version: u64,
    /// The last write of this entity, until it is known to be committed.
    pending: Option<PendingCommit>,
}

impl<S: Send + 'static> Resident for Loaded<S> {
    fn pending(&self) -> Option<&PendingCommit> {
        self.pending.as_ref()
    }

    fn forget_committed(&mut self) {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| matches!(p.peek(), Some(Ok(_))))
        {
            self.pending = None;
        }
    }
}

impl<E: ValueEntityComponent> ValueEntityRuntime<E> {
    /// Builds the runtime of `entity` and starts its passivation sweeper.
    pub fn start(entity: E, env: &ComponentEnv<'_>) -> Arc<Self> {
        Arc::new(Self {
            entity,
            slots: Slots::start(env.entities),
            store: Arc::clone(&env.store),
            committer: env.committer.clone(),
        })
    }

    /// Runs one command on entity `entity_id`.
    pub async fn command<R: Serialize + Send + 'static>(
        &self,
        entity_id: String,
        metadata: Metadata,
        client: ComponentClient,
        handler: impl FnOnce(&E, &E::State, &ValueEntityContext) -> Effect<E::State, R>,
    ) -> HandlerOutcome {
        if let Err(bad_id) = super::entity_id::check(E::TYPE_ID, &entity_id) {
            return HandlerOutcome::error(bad_id);
        }
        let slot = self.slots.get_or_insert(&entity_id);
        let shared = self.store.is_shared();
        let mut cell = match slot.lock_current(shared, || self.load(&entity_id)).await {
            Ok(cell) => cell,
            Err(error) => return HandlerOutcome::error(error),
        };
        let loaded = cell.as_mut().expect("lock_current loads the entity");
        let context = ValueEntityContext::new(entity_id.clone(), metadata, client);
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            handler(&self.entity, &loaded.state, &context)
        }));
        let effect = match run {
            Ok(effect) => effect,
            Err(panic) => {
                // The state was only borrowed, but Kalix restarts a failed entity from its
                // journal; so do we.
                slot.stale.store(true, Ordering::Release);
                return HandlerOutcome::error(crate::outcome::panic_error(
                    E::COMPONENT_ID,
                    &entity_id,
                    panic.as_ref(),
                ));
            }
        };
        let (change, then, side_effects) = effect.into_parts();
        let payload = match &change {
            StateChange::None => None,
            StateChange::Update(state) => match serde_json::to_vec(state) {
                Ok(json) => Some(Some(Bytes::from(json))),
                Err(error) => {
                    return HandlerOutcome::error(CallError::new(
                        ErrorCode::INTERNAL_SERVER_ERROR,
                        format!(
                            "the new state of {} '{entity_id}' cannot be serialized: {error}",
                            E::TYPE_ID
                        ),
                    ));
                }
            },
            StateChange::Delete => Some(None),
        };
        // A read on a shared store must see writes other processes acknowledged: if the entity
        // moved since it was loaded, reload it and run the command again. (A write needs no such
        // check: its version check at commit refuses a stale write, and the command runs again.)
        if payload.is_none() && shared && self.moved_elsewhere(Some(&*loaded), &entity_id).await {
            return super::moved_elsewhere(&slot, E::TYPE_ID, &entity_id);
        }
        let commit = match payload {
            None => loaded.pending.clone(),
            Some(payload) => {
                let commit = self.committer.submit(StateWrite {
                    type_id: E::TYPE_ID.to_owned(),
                    entity_id: entity_id.clone(),
                    expected_version: loaded.version,
                    payload,
                });
                loaded.state = match change {
                    StateChange::Update(state) => state,
                    _ => E::empty_state(&entity_id),
                };
                loaded.version += 1;
                loaded.pending = Some(commit.clone());
                Some(commit)
            }
        };
        drop(cell);
        if let Err(failed) = await_commit(&slot, commit, E::TYPE_ID, &entity_id).await {
            return failed;
        }
        let next = match then {
            Then::Reply(value, metadata) => Next::Reply(value, metadata),
            Then::Forward(call) => Next::Forward(call),
            Then::Error(error) => Next::Error(error),
        };
        next.into_outcome(side_effects)
    }

    /// On a shared store: whether another process wrote the entity since it was loaded here (its
    /// own writes are committed by then).
    async fn moved_elsewhere(&self, loaded: Option<&Loaded<E::State>>, entity_id: &str) -> bool {
        let Some(loaded) = loaded else { return false };
        match self.store.state_version(E::TYPE_ID, entity_id).await {
            Ok(version) => version != loaded.version,
            Err(_) => true,
        }
    }

    async fn load(&self, entity_id: &str) -> Result<Loaded<E::State>, CallError> {
        let stored = self
            .store
            .load(E::TYPE_ID, entity_id)
            .await
            .map_err(|error| super::load_failed(E::TYPE_ID, entity_id, "the state", &error))?;
        let (version, state) = match stored {
            None => (0, E::empty_state(entity_id)),
            Some(stored) => match stored.payload {
                None => (stored.version, E::empty_state(entity_id)),
                Some(json) => {
                    let state = serde_json::from_slice(&json).map_err(|error| {
                        super::unreadable(E::TYPE_ID, entity_id, "the stored state", &error)
                    })?;
                    (stored.version, state)
                }
            },
        };
        Ok(Loaded {
            state,
            version,
            pending: None,
        })
    }

    /// How many entities are in memory.
    pub fn active_entities(&self) -> usize {
        self.slots.len()
    }
}
