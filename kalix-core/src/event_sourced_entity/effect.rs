//! `event_sourced_entity::Effect`: the events a command emits and what follows them.

use super::EntityEvent;
use crate::action::SideEffect;
use crate::client::DeferredCall;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::status::ErrorCode;

/// What an event-sourced entity's command handler returns: events to persist (applied through the
/// event handler), an optional delete, then a reply computed from the state after the events, a
/// forward or an error, plus side effects (run after the events are committed).
///
/// The state's type follows from the event's ([`EntityEvent`]), so the reply closure needs no
/// annotation; see the module's example for a whole entity.
///
/// ```
/// use kalix_core::prelude::*;
///
/// fn refuse(n: u32) -> event_sourced_entity::Effect<u32, (), String> {
///     event_sourced_entity::Effect::error(format!("cannot take {n}"))
/// }
/// ```
#[must_use = "an effect does nothing unless the handler returns it"]
pub struct Effect<S, E, R> {
    events: Vec<E>,
    delete: bool,
    then: Then<S, R>,
    side_effects: Vec<SideEffect>,
}

/// What follows the events.
pub enum Then<S, R> {
    /// Reply with what this computes from the state after the events.
    Reply(Box<dyn FnOnce(&S) -> R + Send>, Metadata),
    /// Let this call produce the reply.
    Forward(DeferredCall<R>),
    /// Fail; no event is persisted.
    Error(CallError),
}

impl<S, R> std::fmt::Debug for Then<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Then::Reply(_, metadata) => f.debug_tuple("Reply").field(metadata).finish(),
            Then::Forward(call) => f.debug_tuple("Forward").field(call).finish(),
            Then::Error(error) => f.debug_tuple("Error").field(error).finish(),
        }
    }
}

/// Events waiting for what follows them: `.then_reply(..)`, `.then_forward(..)`, and optionally
/// `.delete_entity()` first.
#[must_use = "finish the effect with then_reply or then_forward"]
pub struct OnSuccess<S, E, R> {
    events: Vec<E>,
    delete: bool,
    marker: std::marker::PhantomData<fn(&S) -> R>,
}

impl<S, E, R> OnSuccess<S, E, R> {
    /// Deletes the entity with these events: its journal stays, and it accepts no more events.
    pub fn delete_entity(mut self) -> Self {
        self.delete = true;
        self
    }

    /// Reply with what `reply` computes from the state after the events, once they are committed.
    pub fn then_reply(self, reply: impl FnOnce(&S) -> R + Send + 'static) -> Effect<S, E, R> {
        self.then(Then::Reply(Box::new(reply), Metadata::new()))
    }

    /// Like [`OnSuccess::then_reply`], with reply metadata.
    pub fn then_reply_with(
        self,
        reply: impl FnOnce(&S) -> R + Send + 'static,
        metadata: Metadata,
    ) -> Effect<S, E, R> {
        self.then(Then::Reply(Box::new(reply), metadata))
    }

    /// Forward to `call` once the events are committed.
    pub fn then_forward(self, call: DeferredCall<R>) -> Effect<S, E, R> {
        self.then(Then::Forward(call))
    }

    fn then(self, then: Then<S, R>) -> Effect<S, E, R> {
        Effect {
            events: self.events,
            delete: self.delete,
            then,
            side_effects: Vec::new(),
        }
    }
}

impl<E: EntityEvent, R: Send + 'static> Effect<E::State, E, R> {
    /// Persist `event`; finish with `.then_reply(..)` or `.then_forward(..)`.
    pub fn emit_event(event: E) -> OnSuccess<E::State, E, R> {
        Self::emit_events(vec![event])
    }

    /// Persist `events`, in order; finish with `.then_reply(..)` or `.then_forward(..)`.
    pub fn emit_events(events: Vec<E>) -> OnSuccess<E::State, E, R> {
        OnSuccess {
            events,
            delete: false,
            marker: std::marker::PhantomData,
        }
    }
}

impl<S, E, R: Send + 'static> Effect<S, E, R> {
    fn without_events(then: Then<S, R>) -> Self {
        Self {
            events: Vec::new(),
            delete: false,
            then,
            side_effects: Vec::new(),
        }
    }

    /// Reply with `value`, persisting nothing.
    pub fn reply(value: R) -> Self {
        Self::without_events(Then::Reply(Box::new(move |_| value), Metadata::new()))
    }

    /// Reply with `value` and metadata, persisting nothing.
    pub fn reply_with(value: R, metadata: Metadata) -> Self {
        Self::without_events(Then::Reply(Box::new(move |_| value), metadata))
    }

    /// Let another handler answer, persisting nothing.
    pub fn forward(call: DeferredCall<R>) -> Self {
        Self::without_events(Then::Forward(call))
    }

    /// Fail with status 400 and `description`; nothing is persisted.
    pub fn error(description: impl Into<String>) -> Self {
        Self::error_with_status(description, ErrorCode::BAD_REQUEST)
    }

    /// Fail with `status` and `description`; nothing is persisted.
    pub fn error_with_status(description: impl Into<String>, status: ErrorCode) -> Self {
        Self::without_events(Then::Error(CallError::new(status, description)))
    }
}

impl<S, E, R> Effect<S, E, R> {
    /// Adds a side effect, run after the events are committed.
    pub fn add_side_effect(mut self, side_effect: SideEffect) -> Self {
        self.side_effects.push(side_effect);
        self
    }

    /// Adds several side effects.
    pub fn add_side_effects(mut self, side_effects: impl IntoIterator<Item = SideEffect>) -> Self {
        self.side_effects.extend(side_effects);
        self
    }

    /// The effect's parts: the events, whether the entity is deleted, what follows, and the side
    /// effects. An error persists nothing.
    pub fn into_parts(self) -> (Vec<E>, bool, Then<S, R>, Vec<SideEffect>) {
        match self.then {
            Then::Error(error) => (Vec::new(), false, Then::Error(error), Vec::new()),
            then => (self.events, self.delete, then, self.side_effects),
        }
    }
}
