//! `value_entity::Effect`: what a command handler asks the runtime to do.

use std::marker::PhantomData;

use crate::action::SideEffect;
use crate::client::DeferredCall;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::outcome::Answer;
use crate::status::ErrorCode;

/// What a value entity's command handler returns: an optional state change, then a reply, a
/// forward or an error, plus side effects (run after the change is committed).
///
/// ```
/// use kalix_core::prelude::*;
///
/// fn set(value: i64) -> value_entity::Effect<i64, String> {
///     if value < 0 {
///         return value_entity::Effect::error("negative");
///     }
///     value_entity::Effect::update_state(value).then_reply("ok".to_owned())
/// }
/// ```
#[must_use = "an effect does nothing unless the handler returns it"]
pub struct Effect<S, R> {
    change: StateChange<S>,
    then: Answer<R>,
    side_effects: Vec<SideEffect>,
}

/// The state change of an effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateChange<S> {
    /// The state stays as it is.
    None,
    /// The state becomes this.
    Update(S),
    /// The entity is deleted: it reads as its empty state again.
    Delete,
}

impl<S> StateChange<S> {
    /// Carries the change out on `state`: the runtime's transition, which the unit testkit
    /// shares. A delete leaves the entity's empty state.
    ///
    /// ```
    /// use kalix_core::value_entity::StateChange;
    ///
    /// let mut state = 5;
    /// StateChange::Update(7).apply_to(&mut state, || 0);
    /// assert_eq!(state, 7);
    /// StateChange::None.apply_to(&mut state, || 0);
    /// assert_eq!(state, 7);
    /// StateChange::Delete.apply_to(&mut state, || 0);
    /// assert_eq!(state, 0);
    /// ```
    pub fn apply_to(self, state: &mut S, empty_state: impl FnOnce() -> S) {
        match self {
            StateChange::None => {}
            StateChange::Update(new) => *state = new,
            StateChange::Delete => *state = empty_state(),
        }
    }
}

/// A state change waiting for what follows it: `.then_reply(..)` or `.then_forward(..)`.
#[must_use = "finish the effect with then_reply or then_forward"]
pub struct OnSuccess<S, R> {
    change: StateChange<S>,
    reply: PhantomData<fn() -> R>,
}

impl<S, R> OnSuccess<S, R> {
    /// Reply with `value` once the change is committed.
    pub fn then_reply(self, value: R) -> Effect<S, R> {
        self.then(Answer::Reply(value, Metadata::new()))
    }

    /// Reply with `value` and metadata once the change is committed.
    pub fn then_reply_with(self, value: R, metadata: Metadata) -> Effect<S, R> {
        self.then(Answer::Reply(value, metadata))
    }

    /// Forward to `call` once the change is committed.
    pub fn then_forward(self, call: DeferredCall<R>) -> Effect<S, R> {
        self.then(Answer::Forward(call))
    }

    fn then(self, then: Answer<R>) -> Effect<S, R> {
        Effect {
            change: self.change,
            then,
            side_effects: Vec::new(),
        }
    }
}

impl<S, R> Effect<S, R> {
    /// Replace the state with `state`; finish with `.then_reply(..)` or `.then_forward(..)`.
    pub fn update_state(state: S) -> OnSuccess<S, R> {
        OnSuccess {
            change: StateChange::Update(state),
            reply: PhantomData,
        }
    }

    /// Delete the entity (it reads as its empty state again); finish with `.then_reply(..)`.
    pub fn delete_entity() -> OnSuccess<S, R> {
        OnSuccess {
            change: StateChange::Delete,
            reply: PhantomData,
        }
    }

    fn unchanged(then: Answer<R>) -> Self {
        Self {
            change: StateChange::None,
            then,
            side_effects: Vec::new(),
        }
    }

    /// Reply with `value`, leaving the state as it is.
    pub fn reply(value: R) -> Self {
        Self::unchanged(Answer::Reply(value, Metadata::new()))
    }

    /// Reply with `value` and metadata, leaving the state as it is.
    pub fn reply_with(value: R, metadata: Metadata) -> Self {
        Self::unchanged(Answer::Reply(value, metadata))
    }

    /// Let another handler answer, leaving the state as it is.
    pub fn forward(call: DeferredCall<R>) -> Self {
        Self::unchanged(Answer::Forward(call))
    }

    /// Fail with status 400 and `description`; the state is not changed.
    pub fn error(description: impl Into<String>) -> Self {
        Self::error_with_status(description, ErrorCode::BAD_REQUEST)
    }

    /// Fail with `status` and `description`; the state is not changed.
    pub fn error_with_status(description: impl Into<String>, status: ErrorCode) -> Self {
        Self::unchanged(Answer::Error(CallError::new(status, description)))
    }

    /// Adds a side effect, run after the state change is committed.
    pub fn add_side_effect(mut self, side_effect: SideEffect) -> Self {
        self.side_effects.push(side_effect);
        self
    }

    /// Adds several side effects.
    pub fn add_side_effects(mut self, side_effects: impl IntoIterator<Item = SideEffect>) -> Self {
        self.side_effects.extend(side_effects);
        self
    }

    /// The effect's parts: the state change, what follows, and the side effects. An error never
    /// changes the state.
    pub fn into_parts(self) -> (StateChange<S>, Answer<R>, Vec<SideEffect>) {
        match self.then {
            Answer::Error(error) => (StateChange::None, Answer::Error(error), Vec::new()),
            then => (self.change, then, self.side_effects),
        }
    }
}
