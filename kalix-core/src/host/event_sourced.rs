//! Event-sourced entities in the entity host: what is kept of one is its state and whether its
//! journal is closed; a command's change is a journal append, with a snapshot each time the
//! journal passes a multiple of `SNAPSHOT_EVERY`. Loading rebuilds the state from the latest
//! snapshot and the events after it.
//!
//! ## Event-sourced entities (how it works, and why)
//!
//! An event-sourced entity is a `Journal` kind in the entity host (`kalix-core/src/host/entity.rs`,
//! `host/event_sourced.rs`), so it has the value entity's slots, ordering and pipelining. Loading reads
//! the latest snapshot and the events after it (`Store::load_events`) and folds them through the
//! entity's `#[event_handler]` (`event_sourced_entity::fold`). A command's events are folded into the
//! state while the slot is locked (`Transition::of`, which `EventSourcedTestKit` runs too), the reply is
//! computed from the state after them, and one `EventAppend` goes to the group commit: the events numbered from the last sequence number the
//! entity saw (a different last number in the journal is a conflict, never an overwrite), a snapshot of
//! the new state when the events pass a multiple of `snapshot_every`, and the delete flag. The journal
//! keeps every event; snapshots only bound replay. A panic in the handler, the event handler or the
//! reply closure marks the slot stale, so the entity is rebuilt from the journal.
//!
//! On SQLite the journal is one log of every event in commit order (`event_log`, its `position` the
//! commit order a change feed needs), each event linked to its entity's previous one, beside a small
//! head table (last sequence number, last position, deleted) per entity. A table keyed by (entity,
//! sequence number) puts a batch's appends on one page per entity, and SQLite writes whole pages to its
//! WAL and again at checkpoints: appends measured a quarter the speed of state updates there. Loading
//! walks the entity's chain back to its snapshot, so a long journal without snapshots replays slower
//! than a clustered range would (see the benchmark). Files of the earlier layout are migrated when
//! opened. PostgreSQL keeps the table keyed by (entity, sequence number).
//!
//! Events are stored as their serde JSON with the serde tag as type name. `EntityEvent` links the event
//! type to the state type (implemented by the macro) so that `emit_event(e).then_reply(|state| ..)`
//! infers the closure's argument; the price is one event type per entity type.

use bytes::Bytes;
use serde::Serialize;

use super::entity::{Decision, EntityHost, EntityKind, Persist, StoredPosition};
use crate::client::ComponentClient;
use crate::cloud_events::PayloadType;
use crate::error::CallError;
use crate::event_sourced_entity::applied::Applied;
use crate::event_sourced_entity::{Effect, EventSourcedComponent, EventSourcedEntityContext, fold};
use crate::metadata::Metadata;
use crate::outcome::HandlerOutcome;
use crate::status::ErrorCode;
use crate::store::{EventAppend, NewEvent, Store};

/// An event-sourced entity type at run time.
pub type EventSourcedRuntime<E> = EntityHost<Journal<E>>;

/// The event-sourced kind: the user's component, persisted as a journal of events.
pub struct Journal<E>(pub E);

/// What the host keeps of an event-sourced entity.
pub struct Folded<S> {
    /// `None` only while a command folds events into it.
    state: Option<S>,
    /// Whether the entity was deleted: its journal takes no more events.
    deleted: bool,
}

impl<S: serde::Serialize> Folded<S> {
    /// The state as JSON (`null` while none) and whether the entity was deleted: what the
    /// admin API shows.
    pub(crate) fn to_admin_json(&self) -> serde_json::Value {
        serde_json::json!({
            "state": self.state.as_ref().and_then(|state| serde_json::to_value(state).ok()),
            "deleted": self.deleted,
        })
    }
}

/// The internal method the admin API calls to read an event-sourced entity's state.
pub const STATE: &str = "__kalix_state";

impl<E: EventSourcedComponent> EntityKind for Journal<E> {
    const TYPE_ID: &'static str = E::TYPE_ID;
    const COMPONENT_ID: &'static str = E::COMPONENT_ID;
    type Memory = Folded<E::State>;

    async fn load(
        &self,
        store: &dyn Store,
        entity_id: &str,
    ) -> Result<(Folded<E::State>, u64), CallError> {
        let log = store
            .load_events(E::TYPE_ID, entity_id)
            .await
            .map_err(|error| super::load_failed(E::TYPE_ID, entity_id, "the journal", &error))?;
        let corrupt = |what: &str, error: serde_json::Error| {
            super::unreadable(E::TYPE_ID, entity_id, what, &error)
        };
        let (state, snapshot_seq) = match &log.snapshot {
            Some(snapshot) => (
                serde_json::from_slice(&snapshot.payload)
                    .map_err(|e| corrupt("the snapshot", e))?,
                snapshot.seq,
            ),
            None => (E::empty_state(entity_id), 0),
        };
        let events = log
            .events
            .iter()
            .map(|stored| {
                crate::event_sourced_entity::read_event::<E>(&stored.type_name, &stored.payload)
                    .map_err(|e| {
                        corrupt(&format!("event {} ({})", stored.seq, stored.type_name), e)
                    })
            })
            .collect::<Result<Vec<E::Event>, CallError>>()?;
        let state = fold(&self.0, state, &events);
        let seq = log.events.last().map_or(snapshot_seq, |last| last.seq);
        tracing::debug!(
            type_id = E::TYPE_ID,
            entity_id,
            snapshot = log.snapshot.as_ref().map(|s| s.seq),
            replayed = events.len(),
            "entity loaded"
        );
        let folded = Folded {
            state: Some(state),
            deleted: log.deleted,
        };
        Ok((folded, seq))
    }

    fn stored_position(store: &dyn Store, entity_id: &str) -> StoredPosition {
        store.last_seq(E::TYPE_ID, entity_id)
    }
}

impl<E: EventSourcedComponent> EntityHost<Journal<E>> {
    /// Runs one command on entity `entity_id`.
    pub async fn command<R: Serialize + Send + 'static>(
        &self,
        entity_id: String,
        metadata: Metadata,
        client: ComponentClient,
        handler: impl FnOnce(&E, &E::State, &EventSourcedEntityContext) -> Effect<E::State, E::Event, R>,
    ) -> HandlerOutcome {
        let key = metadata.command_key().cloned();
        let context = EventSourcedEntityContext::new(entity_id.clone(), metadata, client);
        self.run_keyed_command(
            &entity_id,
            key.as_deref(),
            |Journal(entity), folded, seq| {
                let state = folded.state.take().expect("state present between commands");
                let effect = handler(entity, &state, &context);
                let transition = Applied::of(entity, &entity_id, state, folded.deleted, effect);
                let persist = if transition.persists() {
                    let append = append::<E, R>(&entity_id, seq, &transition)?;
                    Some(Persist {
                        write: append.into(),
                        position: seq + transition.events.len() as u64,
                    })
                } else {
                    None
                };
                folded.deleted |= transition.delete;
                folded.state = Some(transition.state);
                Ok(Decision {
                    persist,
                    answer: transition.answer,
                    side_effects: transition.side_effects,
                    before_commit: None,
                })
            },
        )
        .await
    }
}

/// The journal append for a command's events, with a snapshot if they pass a multiple of
/// `SNAPSHOT_EVERY`.
fn append<E: EventSourcedComponent, R>(
    entity_id: &str,
    seq: u64,
    transition: &Applied<E::State, E::Event, R>,
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
    let events = transition
        .events
        .iter()
        .map(|event| {
            let json = serde_json::to_vec(event).map_err(|e| cannot("an event", e))?;
            let name = PayloadType::of(event).name();
            Ok(NewEvent {
                type_name: match E::EVENT_VERSION {
                    0 => name.to_owned(),
                    version => format!("{name}#{version}"),
                },
                payload: Bytes::from(json),
            })
        })
        .collect::<Result<Vec<_>, CallError>>()?;
    let every = E::SNAPSHOT_EVERY.max(1);
    let after = seq + events.len() as u64;
    let snapshot = if after / every > seq / every {
        let json = serde_json::to_vec(&transition.state).map_err(|e| cannot("the state", e))?;
        Some(Bytes::from(json))
    } else {
        None
    };
    Ok(EventAppend {
        type_id: E::TYPE_ID.to_owned(),
        entity_id: entity_id.to_owned(),
        expected_seq: seq,
        follows_own_write: false,
        events,
        snapshot,
        delete: transition.delete,
        kept_reply: None,
        trace_parent: crate::telemetry::trace_context::current_traceparent(),
    })
}

#[cfg(test)]
mod tests {
    use crate::cloud_events::PayloadType;

    #[derive(serde::Serialize)]
    enum Event {
        Added {
            amount: i64,
        },
        #[serde(rename = "Closed")]
        ClosedForGood,
        Pair(u8, u8),
    }

    #[derive(serde::Serialize)]
    struct Flat {
        amount: i64,
    }

    #[test]
    fn an_event_type_name_is_its_serde_tag() {
        let name = |event: &Event| PayloadType::of(event).name();
        assert_eq!(name(&Event::Added { amount: 1 }), "Added");
        assert_eq!(name(&Event::ClosedForGood), "Closed");
        assert_eq!(name(&Event::Pair(1, 2)), "Pair");
        // Not an enum: the type's own name, not its first field's.
        assert_eq!(PayloadType::of(&Flat { amount: 1 }).name(), "Flat");
    }
}
