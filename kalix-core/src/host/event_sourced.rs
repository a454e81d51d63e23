//! The event-sourced entity host: like the value entity host (one command at a time per id,
//! pipelined commits, replies after their own commit, reload when stale), with the state rebuilt
//! from the latest snapshot and the events after it, and a snapshot written with the events each
//! time the journal passes a multiple of `SNAPSHOT_EVERY`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use serde::Serialize;

use super::slots::{Resident, Slots};
use super::{Next, await_commit};
use crate::client::ComponentClient;
use crate::error::CallError;
use crate::event_sourced_entity::{Effect, EventSourcedComponent, EventSourcedEntityContext, Then};
use crate::metadata::Metadata;
use crate::outcome::HandlerOutcome;
use crate::registry::ComponentEnv;
use crate::status::ErrorCode;
use crate::store::{EventAppend, GroupCommitter, NewEvent, PendingCommit, Store};

/// An event-sourced entity type at run time: the user's component and its entities' slots.
pub struct EventSourcedRuntime<E: EventSourcedComponent> {
    entity: E,
    slots: Arc<Slots<Loaded<E::State>>>,
    store: Arc<dyn Store>,
    committer: GroupCommitter,
}

struct Loaded<S> {
    /// `None` only while a command folds events into it.
    state: Option<S>,
    /// The sequence number of the last event applied.
    seq: u64,
    deleted: bool,
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

impl<E: EventSourcedComponent> EventSourcedRuntime<E> {
    /// Builds the runtime of `entity`.
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
        handler: impl FnOnce(&E, &E::State, &EventSourcedEntityContext) -> Effect<E::State, E::Event, R>,
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
        let context = EventSourcedEntityContext::new(entity_id.clone(), metadata, client);
        let state = loaded.state.take().expect("state present between commands");
        // The handler, the event handler and the reply are user code: a panic in any of them
        // leaves the slot stale, to be rebuilt from the journal.
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let (events, delete, then, side_effects) =
                handler(&self.entity, &state, &context).into_parts();
            let mut state = state;
            for event in &events {
                state = self.entity.apply(state, event);
            }
            let next = match then {
                Then::Reply(reply, metadata) => Next::Reply(reply(&state), metadata),
                Then::Forward(call) => Next::Forward(call),
                Then::Error(error) => Next::Error(error),
            };
            (state, events, delete, next, side_effects)
        }));
        let (state, events, delete, next, side_effects) = match run {
            Ok(parts) => parts,
            Err(panic) => {
                slot.stale.store(true, Ordering::Release);
                return HandlerOutcome::error(crate::outcome::panic_error(
                    E::COMPONENT_ID,
                    &entity_id,
                    panic.as_ref(),
                ));
            }
        };
        let read = events.is_empty() && !delete;
        let commit = if read {
            // The state goes back into the slot before anything is awaited: a caller that gives
            // up (a timeout, a closed connection) drops this future there.
            loaded.state = Some(state);
            // A read on a shared store must see events other processes appended (see the value
            // entity host): if the journal moved, reload and run the command again.
            if shared && self.moved_elsewhere(Some(&*loaded), &entity_id).await {
                return super::moved_elsewhere(&slot, E::TYPE_ID, &entity_id);
            }
            loaded.pending.clone()
        } else if loaded.deleted {
            loaded.state = Some(state);
            // The state above had the events applied but is dropped with the slot's reload.
            slot.stale.store(true, Ordering::Release);
            return HandlerOutcome::error(CallError::new(
                ErrorCode::CONFLICT,
                format!(
                    "{} '{entity_id}' was deleted and accepts no more events",
                    E::TYPE_ID
                ),
            ));
        } else {
            let append = match self.append(&entity_id, loaded.seq, &events, &state, delete) {
                Ok(append) => append,
                Err(error) => {
                    slot.stale.store(true, Ordering::Release);
                    loaded.state = Some(state);
                    return HandlerOutcome::error(error);
                }
            };
            let commit = self.committer.submit(append);
            loaded.seq += events.len() as u64;
            loaded.deleted |= delete;
            loaded.state = Some(state);
            loaded.pending = Some(commit.clone());
            Some(commit)
        };
        drop(cell);
        if let Err(failed) = await_commit(&slot, commit, E::TYPE_ID, &entity_id).await {
            return failed;
        }
        next.into_outcome(side_effects)
    }

    /// The journal append for `events`, with a snapshot if they pass a multiple of
    /// `SNAPSHOT_EVERY`.
    fn append(
        &self,
        entity_id: &str,
        seq: u64,
        events: &[E::Event],
        state_after: &E::State,
        delete: bool,
    ) -> Result<EventAppend, CallError> {
        let cannot = |what: &str, error: serde_json::Error| {
            CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!(
                    "{what} of {} '{entity_id}' cannot be serialized: {error}",
                    E::TYPE_ID
                ),
            )
        };
        let events = events
            .iter()
            .map(|event| {
                let json = serde_json::to_vec(event).map_err(|e| cannot("an event", e))?;
                Ok(NewEvent {
                    type_name: type_name::<E::Event>(&json),
                    payload: Bytes::from(json),
                })
            })
            .collect::<Result<Vec<_>, CallError>>()?;
        let every = E::SNAPSHOT_EVERY.max(1);
        let after = seq + events.len() as u64;
        let snapshot = if after / every > seq / every {
            Some(Bytes::from(
                serde_json::to_vec(state_after).map_err(|e| cannot("the state", e))?,
            ))
        } else {
            None
        };
        Ok(EventAppend {
            type_id: E::TYPE_ID.to_owned(),
            entity_id: entity_id.to_owned(),
            expected_seq: seq,
            events,
            snapshot,
            delete,
        })
    }

    /// On a shared store: whether another process appended to the journal since it was loaded
    /// here (see the value entity host).
    async fn moved_elsewhere(&self, loaded: Option<&Loaded<E::State>>, entity_id: &str) -> bool {
        let Some(loaded) = loaded else { return false };
        match self.store.last_seq(E::TYPE_ID, entity_id).await {
            Ok(seq) => seq != loaded.seq,
            Err(_) => true,
        }
    }

    async fn load(&self, entity_id: &str) -> Result<Loaded<E::State>, CallError> {
        let log = self
            .store
            .load_events(E::TYPE_ID, entity_id)
            .await
            .map_err(|error| super::load_failed(E::TYPE_ID, entity_id, "the journal", &error))?;
        let corrupt = |what: &str, error: serde_json::Error| {
            super::unreadable(E::TYPE_ID, entity_id, what, &error)
        };
        let (mut state, mut seq) = match &log.snapshot {
            Some(snapshot) => (
                serde_json::from_slice(&snapshot.payload)
                    .map_err(|e| corrupt("the snapshot", e))?,
                snapshot.seq,
            ),
            None => (E::empty_state(entity_id), 0),
        };
        let replayed = log.events.len();
        for stored in &log.events {
            let event: E::Event = serde_json::from_slice(&stored.payload)
                .map_err(|e| corrupt(&format!("event {} ({})", stored.seq, stored.type_name), e))?;
            state = self.entity.apply(state, &event);
            seq = stored.seq;
        }
        tracing::debug!(
            type_id = E::TYPE_ID,
            entity_id,
            snapshot = log.snapshot.as_ref().map(|s| s.seq),
            replayed,
            "entity loaded"
        );
        Ok(Loaded {
            state: Some(state),
            seq,
            deleted: log.deleted,
            pending: None,
        })
    }
}

/// An event's stable type name: its serde tag (the variant's name, or its `#[serde(rename)]`).
fn type_name<T>(json: &[u8]) -> String {
    // An externally tagged enum serializes as `"Variant"` or `{"Variant":...}`; the tag is an
    // identifier, so it holds no escapes and ends at the next quote.
    let tag = json
        .strip_prefix(b"{\"")
        .or_else(|| json.strip_prefix(b"\""))
        .and_then(|rest| rest.iter().position(|&b| b == b'"').map(|end| &rest[..end]))
        .and_then(|tag| std::str::from_utf8(tag).ok());
    match tag {
        Some(tag) => tag.to_owned(),
        None => std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::type_name;

    #[derive(serde::Serialize)]
    enum Event {
        Added {
            amount: i64,
        },
        #[serde(rename = "Closed")]
        ClosedForGood,
        Pair(u8, u8),
    }

    #[test]
    fn an_event_type_name_is_its_serde_tag() {
        let name = |event: &Event| type_name::<Event>(&serde_json::to_vec(event).unwrap());
        assert_eq!(name(&Event::Added { amount: 1 }), "Added");
        assert_eq!(name(&Event::ClosedForGood), "Closed");
        assert_eq!(name(&Event::Pair(1, 2)), "Pair");
        // Not an enum: the type's own name.
        assert_eq!(type_name::<Event>(b"42"), "Event");
    }
}
