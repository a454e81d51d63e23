//! `replicated_entity::Effect`: what a command handler asks the runtime to do.

use std::marker::PhantomData;

use crate::action::SideEffect;
use crate::client::DeferredCall;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::outcome::Answer;
use crate::status::ErrorCode;

/// How many of the service's processes must have an update before its reply is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteConsistency {
    /// This process, once the update is durable (the default).
    #[default]
    Local,
    /// More than half of the live processes, this one included.
    Majority,
    /// Every live process.
    All,
}

/// What a replicated entity's command handler returns: an optional change (an update of the
/// data, or a delete), then a reply, a forward or an error, plus side effects (run after the
/// change is durable).
///
/// ```
/// use kalix_core::prelude::*;
/// use kalix_core::replicated_entity::{ReplicatedCounter, WriteConsistency};
///
/// fn increase(counter: &ReplicatedCounter, by: i64) -> replicated_entity::Effect<ReplicatedCounter, String> {
///     if by <= 0 {
///         return replicated_entity::Effect::error("increase by a positive number");
///     }
///     replicated_entity::Effect::update(counter.increment(by))
///         .with_write_consistency(WriteConsistency::Majority)
///         .then_reply("Ok".to_owned())
/// }
/// ```
#[must_use = "an effect does nothing unless the handler returns it"]
pub struct Effect<D, R> {
    change: DataChange<D>,
    consistency: WriteConsistency,
    then: Answer<R>,
    side_effects: Vec<SideEffect>,
}

/// The change of an effect.
#[derive(Clone, Debug, PartialEq)]
pub enum DataChange<D> {
    /// The data stays as it is.
    None,
    /// The data, changed by its methods from the value the handler got.
    Update(D),
    /// The entity is deleted for good: later commands are refused.
    Delete,
}

/// A change waiting for what follows it: `.then_reply(..)` or `.then_forward(..)`.
#[must_use = "finish the effect with then_reply or then_forward"]
pub struct OnSuccess<D, R> {
    change: DataChange<D>,
    consistency: WriteConsistency,
    reply: PhantomData<fn() -> R>,
}

impl<D, R> OnSuccess<D, R> {
    /// Replies only once `consistency` is met (the default is [`WriteConsistency::Local`]).
    pub fn with_write_consistency(mut self, consistency: WriteConsistency) -> Self {
        self.consistency = consistency;
        self
    }

    /// Reply with `value` once the change is durable.
    pub fn then_reply(self, value: R) -> Effect<D, R> {
        self.then(Answer::Reply(value, Metadata::new()))
    }

    /// Reply with `value` and metadata once the change is durable.
    pub fn then_reply_with(self, value: R, metadata: Metadata) -> Effect<D, R> {
        self.then(Answer::Reply(value, metadata))
    }

    /// Forward to `call` once the change is durable.
    pub fn then_forward(self, call: DeferredCall<R>) -> Effect<D, R> {
        self.then(Answer::Forward(call))
    }

    fn then(self, then: Answer<R>) -> Effect<D, R> {
        Effect {
            change: self.change,
            consistency: self.consistency,
            then,
            side_effects: Vec::new(),
        }
    }
}

impl<D, R> Effect<D, R> {
    /// Update the data to `data` (the value the handler got, changed by its methods); finish
    /// with `.then_reply(..)` or `.then_forward(..)`.
    pub fn update(data: D) -> OnSuccess<D, R> {
        OnSuccess {
            change: DataChange::Update(data),
            consistency: WriteConsistency::Local,
            reply: PhantomData,
        }
    }

    /// Delete the entity for good: later commands to it are refused (a read with 404, a change
    /// with 400). Finish with `.then_reply(..)`.
    pub fn delete() -> OnSuccess<D, R> {
        OnSuccess {
            change: DataChange::Delete,
            consistency: WriteConsistency::Local,
            reply: PhantomData,
        }
    }

    fn unchanged(then: Answer<R>) -> Self {
        Self {
            change: DataChange::None,
            consistency: WriteConsistency::Local,
            then,
            side_effects: Vec::new(),
        }
    }

    /// Reply with `value`, changing nothing.
    pub fn reply(value: R) -> Self {
        Self::unchanged(Answer::Reply(value, Metadata::new()))
    }

    /// Reply with `value` and metadata, changing nothing.
    pub fn reply_with(value: R, metadata: Metadata) -> Self {
        Self::unchanged(Answer::Reply(value, metadata))
    }

    /// Let another handler answer, changing nothing.
    pub fn forward(call: DeferredCall<R>) -> Self {
        Self::unchanged(Answer::Forward(call))
    }

    /// Fail with status 400 and `description`; nothing changes.
    pub fn error(description: impl Into<String>) -> Self {
        Self::error_with_status(description, ErrorCode::BAD_REQUEST)
    }

    /// Fail with `status` and `description`; nothing changes.
    pub fn error_with_status(description: impl Into<String>, status: ErrorCode) -> Self {
        Self::unchanged(Answer::Error(CallError::new(status, description)))
    }

    /// Adds a side effect, run after the change is durable.
    pub fn add_side_effect(mut self, side_effect: SideEffect) -> Self {
        self.side_effects.push(side_effect);
        self
    }

    /// Adds several side effects.
    pub fn add_side_effects(mut self, side_effects: impl IntoIterator<Item = SideEffect>) -> Self {
        self.side_effects.extend(side_effects);
        self
    }

    /// The effect's parts: the change, its consistency, what follows, and the side effects. An
    /// error never changes anything.
    pub fn into_parts(self) -> (DataChange<D>, WriteConsistency, Answer<R>, Vec<SideEffect>) {
        match self.then {
            Answer::Error(error) => (
                DataChange::None,
                WriteConsistency::Local,
                Answer::Error(error),
                Vec::new(),
            ),
            then => (self.change, self.consistency, then, self.side_effects),
        }
    }
}

/// What an entity is to one replica: its data merged from every replica, and whether it was
/// deleted. The runtime keeps one per entity in memory; the unit testkit and the replica
/// simulator keep theirs. [`Replica::run`] is the transition they share.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Replica<D> {
    data: D,
    deleted: bool,
}

/// What a command came to on a [`Replica`]: its answer and side effects, and whether (and
/// how) the replica changed.
pub struct Ran<D, R> {
    /// The change the handler asked for.
    pub change: DataChange<D>,
    /// How many processes must have it before the reply.
    pub consistency: WriteConsistency,
    /// The reply, forward or error.
    pub answer: Answer<R>,
    /// Run after the change is durable.
    pub side_effects: Vec<SideEffect>,
    /// Whether the replica changed: its new data is to be written.
    pub changed: bool,
}

impl<D: super::ReplicatedData> Replica<D> {
    /// A replica `replica` of data merged from `rows` (each a replica's data and whether it
    /// deleted the entity).
    pub fn merged(replica: super::ReplicaId, rows: impl IntoIterator<Item = (D, bool)>) -> Self {
        let mut merged = Self::default();
        for (data, deleted) in rows {
            merged.data.merge(&data);
            merged.deleted |= deleted;
        }
        if merged.deleted {
            merged.data = D::default();
        }
        merged.data.set_replica(replica);
        merged
    }

    /// The data (empty once deleted).
    pub fn data(&self) -> &D {
        &self.data
    }

    /// Whether the entity was deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// Joins another replica of the entity into this one.
    pub fn merge(&mut self, other: &Self) {
        let replica = self.data.replica();
        self.deleted |= other.deleted;
        if self.deleted {
            self.data = D::default();
        } else {
            self.data.merge(&other.data);
        }
        if let Some(replica) = replica {
            self.data.set_replica(replica);
        }
    }

    /// Runs `handler` on this replica and carries its change out: an update's delta is merged
    /// in, a delete empties the data for good. A command to a deleted entity is refused (a
    /// read with 404, a change with 400) unless the handler answered an error of its own; an
    /// update of data the handler did not get is a 500. The errors name the entity as
    /// `<type_id> '<entity_id>'`.
    pub fn run<R>(
        &mut self,
        type_id: &str,
        entity_id: &str,
        handler: impl FnOnce(&D) -> Effect<D, R>,
    ) -> Result<Ran<D, R>, CallError> {
        let (change, consistency, answer, side_effects) = handler(&self.data).into_parts();
        if self.deleted && !matches!(answer, Answer::Error(_)) {
            let code = match change {
                DataChange::None => ErrorCode::NOT_FOUND,
                DataChange::Update(_) | DataChange::Delete => ErrorCode::BAD_REQUEST,
            };
            return Err(CallError::new(
                code,
                format!("replicated entity {type_id} '{entity_id}' was deleted"),
            ));
        }
        let me = self.data.replica();
        let changed = match &change {
            DataChange::None => false,
            DataChange::Update(new) => {
                if new.replica() != me {
                    return Err(CallError::new(
                        ErrorCode::INTERNAL_SERVER_ERROR,
                        format!(
                            "a handler of replicated entity {type_id} '{entity_id}' returned an update of data it did not get: `Effect::update` takes the data the handler got, changed by its methods"
                        ),
                    ));
                }
                match new.delta() {
                    Some(delta) => {
                        self.data.merge(&delta);
                        true
                    }
                    None => false,
                }
            }
            DataChange::Delete => {
                self.deleted = true;
                self.data = D::default();
                if let Some(me) = me {
                    self.data.set_replica(me);
                }
                true
            }
        };
        Ok(Ran {
            change,
            consistency,
            answer,
            side_effects,
            changed,
        })
    }
}
