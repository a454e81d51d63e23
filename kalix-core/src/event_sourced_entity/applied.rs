//! The pure part of running a command on an event-sourced entity: what the runtime does between
//! loading an entity and committing its events, and what `EventSourcedTestKit` does in a unit
//! test. One implementation, so the two cannot drift.

use super::{Effect, EventSourcedComponent, Then};
use crate::action::SideEffect;
use crate::error::CallError;
use crate::outcome::Answer;
use crate::status::ErrorCode;

/// Folds `events` into `state` through the entity's event handler, in order: how a journal is
/// replayed and how a command's events take effect.
pub fn fold<E: EventSourcedComponent>(
    entity: &E,
    state: E::State,
    events: &[E::Event],
) -> E::State {
    events
        .iter()
        .fold(state, |state, event| entity.apply(state, event))
}

/// The error for events emitted to a deleted entity: its journal takes no more (409).
pub fn deleted_error(type_id: &str, entity_id: &str) -> CallError {
    CallError::new(
        ErrorCode::CONFLICT,
        format!("{type_id} '{entity_id}' was deleted and accepts no more events"),
    )
}

/// What one command did to an event-sourced entity, before anything is persisted.
#[derive(Debug)]
pub struct Applied<S, Ev, R> {
    /// The events to persist, in order; none after an error.
    pub events: Vec<Ev>,
    /// Whether the entity is deleted with them.
    pub delete: bool,
    /// The state after the events.
    pub state: S,
    /// The reply (computed from the state after the events), forward or error.
    pub answer: Answer<R>,
    /// The side effects, run once the events are committed.
    pub side_effects: Vec<SideEffect>,
}

impl<S, Ev, R> Applied<S, Ev, R> {
    /// Carries out `effect`, a command's result on `state`: the events are folded into the state
    /// and the reply computed from the result. A deleted entity refuses events (409) and keeps
    /// its state.
    pub fn of<E>(
        entity: &E,
        entity_id: &str,
        state: S,
        deleted: bool,
        effect: Effect<S, Ev, R>,
    ) -> Self
    where
        E: EventSourcedComponent<State = S, Event = Ev>,
    {
        let (events, delete, then, side_effects) = effect.into_parts();
        if deleted && (!events.is_empty() || delete) {
            return Self {
                events: Vec::new(),
                delete: false,
                state,
                answer: Answer::Error(deleted_error(E::TYPE_ID, entity_id)),
                side_effects: Vec::new(),
            };
        }
        let state = fold(entity, state, &events);
        let answer = match then {
            Then::Reply(reply, metadata) => Answer::Reply(reply(&state), metadata),
            Then::Forward(call) => Answer::Forward(call),
            Then::Error(error) => Answer::Error(error),
        };
        Self {
            events,
            delete,
            state,
            answer,
            side_effects,
        }
    }

    /// Whether the command changes the journal.
    pub fn persists(&self) -> bool {
        !self.events.is_empty() || self.delete
    }
}
