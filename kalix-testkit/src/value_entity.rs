//! Unit tests of value entities: run commands against an in-memory state per entity id.

use kalix_core::action::SideEffect;
use kalix_core::value_entity::{
    Effect, StateChange, Then, ValueEntityComponent, ValueEntityContext,
};
use kalix_core::{Call, ComponentClient, ErrorCode, Metadata};

/// Runs the command handlers of one value entity directly, keeping its state between calls.
///
/// The state starts as the entity's empty state; an update replaces it, a delete resets it to the
/// empty state. Forwards and side effects are recorded, not run.
///
/// ```
/// use kalix_core::prelude::*;
/// use kalix_testkit::ValueEntityTestkit;
///
/// #[derive(Default)]
/// pub struct CounterEntity;
///
/// #[value_entity(type_id = "counter", id = "counter_id")]
/// impl CounterEntity {
///     #[post("/counter/<counter_id>/increase/<by>")]
///     fn increase(&self, value: &i64, by: i64) -> value_entity::Effect<i64, i64> {
///         value_entity::Effect::update_state(value + by).then_reply(value + by)
///     }
/// }
///
/// let mut testkit = ValueEntityTestkit::new(CounterEntity);
/// let result = testkit.call(|entity, state, _| entity.increase(state, 5));
/// assert_eq!(*result.reply(), 5);
/// assert_eq!(result.updated_state(), Some(&5));
/// assert_eq!(*testkit.state(), 5);
/// ```
pub struct ValueEntityTestkit<E: ValueEntityComponent> {
    entity: E,
    entity_id: String,
    state: E::State,
    metadata: Metadata,
}

impl<E: ValueEntityComponent> ValueEntityTestkit<E> {
    /// A testkit for the entity with id `testkit-entity-id` (Kalix's default).
    pub fn new(entity: E) -> Self {
        Self::with_id(entity, "testkit-entity-id")
    }

    /// A testkit for the entity with the given id.
    pub fn with_id(entity: E, entity_id: impl Into<String>) -> Self {
        let entity_id = entity_id.into();
        Self {
            state: E::empty_state(&entity_id),
            entity,
            entity_id,
            metadata: Metadata::new(),
        }
    }

    /// Returns the testkit with the metadata every command's context carries.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// The current state.
    pub fn state(&self) -> &E::State {
        &self.state
    }

    /// Runs one command and applies its state change.
    pub fn call<R>(
        &mut self,
        handler: impl FnOnce(&E, &E::State, &ValueEntityContext) -> Effect<E::State, R>,
    ) -> ValueEntityResult<E::State, R>
    where
        E::State: Clone,
    {
        let context = ValueEntityContext::new(
            self.entity_id.clone(),
            self.metadata.clone(),
            ComponentClient::disconnected(),
        );
        let (change, then, side_effects) =
            handler(&self.entity, &self.state, &context).into_parts();
        let change = match change {
            StateChange::None => StateChange::None,
            StateChange::Update(state) => {
                self.state = state.clone();
                StateChange::Update(state)
            }
            StateChange::Delete => {
                self.state = E::empty_state(&self.entity_id);
                StateChange::Delete
            }
        };
        ValueEntityResult {
            change,
            then,
            side_effects,
        }
    }
}

/// The effect of one command.
#[derive(Debug)]
pub struct ValueEntityResult<S, R> {
    change: StateChange<S>,
    then: Then<R>,
    side_effects: Vec<SideEffect>,
}

impl<S, R> ValueEntityResult<S, R> {
    fn describe(&self) -> String {
        match &self.then {
            Then::Reply(..) => "a reply".to_owned(),
            Then::Forward(call) => format!(
                "a forward to {}::{}",
                call.call().component(),
                call.call().method()
            ),
            Then::Error(error) => format!("an error ({error})"),
        }
    }

    /// Whether the command replied.
    pub fn is_reply(&self) -> bool {
        matches!(self.then, Then::Reply(..))
    }

    /// The reply. Panics if the command did not reply.
    pub fn reply(&self) -> &R {
        match &self.then {
            Then::Reply(value, _) => value,
            _ => panic!("expected a reply, but the effect was {}", self.describe()),
        }
    }

    /// The reply's metadata. Panics if the command did not reply.
    pub fn reply_metadata(&self) -> &Metadata {
        match &self.then {
            Then::Reply(_, metadata) => metadata,
            _ => panic!("expected a reply, but the effect was {}", self.describe()),
        }
    }

    /// Whether the command failed.
    pub fn is_error(&self) -> bool {
        matches!(self.then, Then::Error(_))
    }

    /// The error's description. Panics if the command did not fail.
    pub fn error(&self) -> &str {
        match &self.then {
            Then::Error(error) => error.description(),
            _ => panic!("expected an error, but the effect was {}", self.describe()),
        }
    }

    /// The error's status. Panics if the command did not fail.
    pub fn error_status(&self) -> ErrorCode {
        match &self.then {
            Then::Error(error) => error.error_code(),
            _ => panic!("expected an error, but the effect was {}", self.describe()),
        }
    }

    /// Whether the command forwarded.
    pub fn is_forward(&self) -> bool {
        matches!(self.then, Then::Forward(_))
    }

    /// The forwarded call. Panics if the command did not forward.
    pub fn forward(&self) -> &Call {
        match &self.then {
            Then::Forward(call) => call.call(),
            _ => panic!("expected a forward, but the effect was {}", self.describe()),
        }
    }

    /// Whether the command replaced the state.
    pub fn state_was_updated(&self) -> bool {
        matches!(self.change, StateChange::Update(_))
    }

    /// The state the command set, if it set one.
    pub fn updated_state(&self) -> Option<&S> {
        match &self.change {
            StateChange::Update(state) => Some(state),
            _ => None,
        }
    }

    /// Whether the command deleted the entity.
    pub fn state_was_deleted(&self) -> bool {
        matches!(self.change, StateChange::Delete)
    }

    /// The side effects, in the order they were added.
    pub fn side_effects(&self) -> &[SideEffect] {
        &self.side_effects
    }
}
