//! What a workflow's command handlers and steps return: a transition (with an optional new
//! state) and, for a command, a reply or an error.

use std::marker::PhantomData;

use serde::Serialize;

use crate::error::CallError;
use crate::metadata::Metadata;
use crate::outcome::Answer;
use crate::status::ErrorCode;

/// A step of workflow `W` that takes an input of type `I`. `#[workflow]` generates one per step
/// method as an associated constant (`Self::WITHDRAW` for `fn withdraw`), so a transition to a
/// step that does not exist, or with an input of another type, does not compile.
pub struct StepId<W, I> {
    name: &'static str,
    marker: PhantomData<fn() -> (W, I)>,
}

impl<W, I> StepId<W, I> {
    /// The step named `name` (generated code builds these).
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            marker: PhantomData,
        }
    }

    /// The step's name, as the workflow's state and logs show it.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<W, I> Clone for StepId<W, I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<W, I> Copy for StepId<W, I> {}

impl<W, I> std::fmt::Debug for StepId<W, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StepId({})", self.name)
    }
}

/// Where a transition leads.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Run this step with this input (as JSON).
    Step {
        /// The step's name.
        name: &'static str,
        /// Its input.
        input: serde_json::Value,
    },
    /// Wait for a command.
    Pause,
    /// Finish: no step runs and the state no longer changes.
    End,
}

impl Target {
    fn step<W, I: Serialize>(step: StepId<W, I>, input: &I) -> Result<Self, CallError> {
        let input = serde_json::to_value(input).map_err(|error| {
            CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!(
                    "the input of step '{}' cannot be serialized: {error}",
                    step.name
                ),
            )
        })?;
        Ok(Target::Step {
            name: step.name,
            input,
        })
    }
}

/// A transition of workflow `W` with state `S`: optionally a new state, then a step to run, a
/// pause or the end. A step returns one (in a [`StepResult`]); a command handler finishes one
/// with `.then_reply(..)` into its [`Effect`] (`R` is the command's reply type).
///
/// ```
/// use kalix_core::workflow::{StepId, Transition};
///
/// struct Transfer;
/// const DEPOSIT: StepId<Transfer, u64> = StepId::new("deposit");
///
/// let next: Transition<Transfer, String> =
///     Transition::update_state("WITHDRAW_SUCCEED".to_owned()).transition_to(DEPOSIT, 10);
/// let done: Transition<Transfer, String> = Transition::update_state("COMPLETED".to_owned()).end();
/// # let _ = (next, done);
/// ```
#[must_use = "a transition does nothing unless it is returned"]
pub struct Transition<W, S, R = ()> {
    pub(crate) update: Option<S>,
    pub(crate) target: Result<Target, CallError>,
    marker: PhantomData<fn() -> (W, R)>,
}

impl<W, S, R> Transition<W, S, R> {
    fn to(update: Option<S>, target: Result<Target, CallError>) -> Self {
        Self {
            update,
            target,
            marker: PhantomData,
        }
    }

    /// Replace the state with `state`; finish with `.transition_to(..)`, `.pause()` or `.end()`.
    pub fn update_state(state: S) -> UpdateState<W, S, R> {
        UpdateState {
            state,
            marker: PhantomData,
        }
    }

    /// Run `step` with `input` next, leaving the state as it is.
    pub fn transition_to<I: Serialize>(step: StepId<W, I>, input: I) -> Self {
        Self::to(None, Target::step(step, &input))
    }

    /// Wait for a command, leaving the state as it is.
    pub fn pause() -> Self {
        Self::to(None, Ok(Target::Pause))
    }

    /// Finish the workflow, leaving the state as it is.
    pub fn end() -> Self {
        Self::to(None, Ok(Target::End))
    }

    /// The command's reply once the transition is committed.
    pub fn then_reply(self, value: R) -> Effect<W, S, R> {
        self.then_reply_with(value, Metadata::new())
    }

    /// The command's reply, with metadata, once the transition is committed.
    pub fn then_reply_with(self, value: R, metadata: Metadata) -> Effect<W, S, R> {
        Effect {
            change: Some(self.without_reply()),
            then: Answer::Reply(value, metadata),
        }
    }

    /// The new state, if the transition sets one.
    pub fn new_state(&self) -> Option<&S> {
        self.update.as_ref()
    }

    /// Where it leads, or why it cannot be made (an input that does not serialize).
    pub fn target(&self) -> Result<&Target, &CallError> {
        self.target.as_ref()
    }

    pub(crate) fn without_reply(self) -> Transition<W, S> {
        Transition::to(self.update, self.target)
    }
}

/// A new state waiting for its transition: `.transition_to(..)`, `.pause()` or `.end()`.
#[must_use = "finish the state update with transition_to, pause or end"]
pub struct UpdateState<W, S, R = ()> {
    state: S,
    marker: PhantomData<fn() -> (W, R)>,
}

impl<W, S, R> UpdateState<W, S, R> {
    /// Then run `step` with `input`.
    pub fn transition_to<I: Serialize>(self, step: StepId<W, I>, input: I) -> Transition<W, S, R> {
        Transition::to(Some(self.state), Target::step(step, &input))
    }

    /// Then wait for a command.
    pub fn pause(self) -> Transition<W, S, R> {
        Transition::to(Some(self.state), Ok(Target::Pause))
    }

    /// Then finish.
    pub fn end(self) -> Transition<W, S, R> {
        Transition::to(Some(self.state), Ok(Target::End))
    }
}

/// What a step returns: the transition it leads to, or the error that makes it fail (and be
/// retried or failed over, as its recovery says).
pub type StepResult<W, S> = Result<Transition<W, S>, CallError>;

/// What a workflow's command handler returns: a transition and a reply, a reply alone, or an
/// error (which changes nothing).
///
/// ```
/// use kalix_core::workflow::{Effect, StepId};
///
/// struct Transfer;
/// const WITHDRAW: StepId<Transfer, u64> = StepId::new("withdraw");
///
/// fn start(amount: u64) -> Effect<Transfer, String, String> {
///     if amount == 0 {
///         return Effect::error("transfer amount should be greater than zero");
///     }
///     Effect::update_state("STARTED".to_owned())
///         .transition_to(WITHDRAW, amount)
///         .then_reply("transfer started".to_owned())
/// }
/// # let _ = start(1);
/// ```
#[must_use = "an effect does nothing unless the handler returns it"]
pub struct Effect<W, S, R> {
    pub(crate) change: Option<Transition<W, S>>,
    pub(crate) then: Answer<R>,
}

impl<W, S, R> Effect<W, S, R> {
    /// Replace the state with `state`; then `.transition_to(..)`, `.pause()` or `.end()`, then
    /// `.then_reply(..)`.
    pub fn update_state(state: S) -> UpdateState<W, S, R> {
        Transition::update_state(state)
    }

    /// Run `step` with `input` next, leaving the state as it is; then `.then_reply(..)`.
    pub fn transition_to<I: Serialize>(step: StepId<W, I>, input: I) -> Transition<W, S, R> {
        Transition::transition_to(step, input)
    }

    /// Wait for a command; then `.then_reply(..)`.
    pub fn pause() -> Transition<W, S, R> {
        Transition::pause()
    }

    /// Finish the workflow; then `.then_reply(..)`.
    pub fn end() -> Transition<W, S, R> {
        Transition::end()
    }

    /// Reply with `value`; the workflow stays as it is.
    pub fn reply(value: R) -> Self {
        Self::reply_with(value, Metadata::new())
    }

    /// Reply with `value` and metadata; the workflow stays as it is.
    pub fn reply_with(value: R, metadata: Metadata) -> Self {
        Self {
            change: None,
            then: Answer::Reply(value, metadata),
        }
    }

    /// Fail with status 400 and `description`; the workflow stays as it is.
    pub fn error(description: impl Into<String>) -> Self {
        Self::error_with_status(description, ErrorCode::BAD_REQUEST)
    }

    /// Fail with `status` and `description`; the workflow stays as it is.
    pub fn error_with_status(description: impl Into<String>, status: ErrorCode) -> Self {
        Self {
            change: None,
            then: Answer::Error(CallError::new(status, description)),
        }
    }

    /// The effect's parts: the transition, if any, and the answer. An error never transitions.
    pub fn into_parts(self) -> (Option<Transition<W, S>>, Answer<R>) {
        match self.then {
            Answer::Error(error) => (None, Answer::Error(error)),
            then => (self.change, then),
        }
    }
}
