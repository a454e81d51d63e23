//! The result every unit testkit returns: what a handler answered and its side effects, plus
//! what its kind adds (a value entity's state change, an event-sourced entity's events).

use kalix_core::action::SideEffect;
use kalix_core::{Answer, Call, ErrorCode, Metadata};

/// What one call of a handler under test did.
///
/// `T` is the reply's type; `K` is what the component's kind adds: nothing for an action
/// ([`ActionResult`](crate::ActionResult)), the state change for a value entity
/// ([`ValueEntityResult`](crate::ValueEntityResult)), the events and the state after them for
/// an event-sourced entity ([`EventSourcedResult`](crate::EventSourcedResult)).
///
/// The accessors for one kind of answer (`reply`, `error`, `forward`) panic with a message
/// saying what the answer was instead, so a failing assertion reads well.
#[derive(Debug)]
pub struct EffectResult<T, K = ()> {
    answer: Answer<T>,
    side_effects: Vec<SideEffect>,
    pub(crate) kind: K,
}

impl<T, K> EffectResult<T, K> {
    pub(crate) fn new(answer: Answer<T>, side_effects: Vec<SideEffect>, kind: K) -> Self {
        Self {
            answer,
            side_effects,
            kind,
        }
    }

    #[track_caller]
    fn expected(&self, what: &str) -> ! {
        panic!(
            "expected {what}, but the effect was {}",
            self.answer.describe()
        )
    }

    /// What the handler answered.
    pub fn answer(&self) -> &Answer<T> {
        &self.answer
    }

    /// Whether the handler replied.
    pub fn is_reply(&self) -> bool {
        matches!(self.answer, Answer::Reply(..))
    }

    /// The reply. Panics if the handler did not reply.
    #[track_caller]
    pub fn reply(&self) -> &T {
        match &self.answer {
            Answer::Reply(value, _) => value,
            _ => self.expected("a reply"),
        }
    }

    /// The reply's metadata. Panics if the handler did not reply.
    #[track_caller]
    pub fn reply_metadata(&self) -> &Metadata {
        match &self.answer {
            Answer::Reply(_, metadata) => metadata,
            _ => self.expected("a reply"),
        }
    }

    /// Whether the handler failed.
    pub fn is_error(&self) -> bool {
        matches!(self.answer, Answer::Error(_))
    }

    /// The error's description. Panics if the handler did not fail.
    #[track_caller]
    pub fn error(&self) -> &str {
        match &self.answer {
            Answer::Error(error) => error.description(),
            _ => self.expected("an error"),
        }
    }

    /// The error's status. Panics if the handler did not fail.
    #[track_caller]
    pub fn error_status(&self) -> ErrorCode {
        match &self.answer {
            Answer::Error(error) => error.error_code(),
            _ => self.expected("an error"),
        }
    }

    /// Whether the handler forwarded.
    pub fn is_forward(&self) -> bool {
        matches!(self.answer, Answer::Forward(_))
    }

    /// The forwarded call: target component, method, body and metadata. Panics if the handler
    /// did not forward.
    #[track_caller]
    pub fn forward(&self) -> &Call {
        match &self.answer {
            Answer::Forward(call) => call.call(),
            _ => self.expected("a forward"),
        }
    }

    /// Whether the handler ignored the call (actions only).
    pub fn is_ignore(&self) -> bool {
        matches!(self.answer, Answer::Ignore)
    }

    /// The side effects, in the order they were added.
    pub fn side_effects(&self) -> &[SideEffect] {
        &self.side_effects
    }
}
