//! Unit tests of value entities: run commands against an in-memory state per entity id.

use kalix_core::value_entity::{Effect, StateChange, ValueEntityComponent, ValueEntityContext};
use kalix_core::{ComponentClient, Metadata};

use crate::EffectResult;

/// Runs the command handlers of one value entity directly, keeping its state between calls.
///
/// The state starts as the entity's empty state; an update replaces it, a delete resets it to the
/// empty state. Forwards and side effects are recorded, not run.
///
/// ```
/// use kalix_core::prelude::*;
/// use kalix_testkit::ValueEntityTestKit;
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
/// let mut testkit = ValueEntityTestKit::new(CounterEntity);
/// let result = testkit.call(|entity, state, _| entity.increase(state, 5));
/// assert_eq!(*result.reply(), 5);
/// assert_eq!(result.updated_state(), Some(&5));
/// assert_eq!(*testkit.state(), 5);
/// ```
pub struct ValueEntityTestKit<E: ValueEntityComponent> {
    entity: E,
    entity_id: String,
    state: E::State,
    metadata: Metadata,
}

impl<E: ValueEntityComponent> ValueEntityTestKit<E> {
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

    /// Returns the testkit with who makes every command: its context's `principals()` and
    /// `jwt_claims()`. The ACL and `#[jwt]` checks themselves run at the ingress: test them
    /// with the integration `TestKit`.
    #[must_use]
    pub fn with_caller(
        mut self,
        principals: kalix_core::access::Principals,
        claims: kalix_core::access::JwtClaims,
    ) -> Self {
        self.metadata = self.metadata.with_caller(principals, claims);
        self
    }

    /// Returns the testkit with the entity already in `state`, as if earlier commands had left
    /// it there: the command under test runs on it.
    ///
    /// ```
    /// # use kalix_core::prelude::*;
    /// # use kalix_testkit::ValueEntityTestKit;
    /// # #[derive(Default)]
    /// # pub struct CounterEntity;
    /// # #[value_entity(type_id = "counter", id = "counter_id")]
    /// # impl CounterEntity {
    /// #     #[post("/counter/<counter_id>/increase/<by>")]
    /// #     fn increase(&self, value: &i64, by: i64) -> value_entity::Effect<i64, i64> {
    /// #         value_entity::Effect::update_state(value + by).then_reply(value + by)
    /// #     }
    /// # }
    /// let mut testkit = ValueEntityTestKit::new(CounterEntity).given_state(40);
    /// let result = testkit.call(|entity, state, _| entity.increase(state, 2));
    /// assert_eq!(*result.reply(), 42);
    /// ```
    #[must_use]
    pub fn given_state(mut self, state: E::State) -> Self {
        self.state = state;
        self
    }

    /// The current state.
    pub fn state(&self) -> &E::State {
        &self.state
    }

    /// Runs one command and applies its state change, as the runtime does.
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
        let (change, answer, side_effects) =
            handler(&self.entity, &self.state, &context).into_parts();
        change
            .clone()
            .apply_to(&mut self.state, || E::empty_state(&self.entity_id));
        EffectResult::new(answer, side_effects, change)
    }
}

/// The effect of one value entity command: its answer, side effects and state change.
pub type ValueEntityResult<S, R> = EffectResult<R, StateChange<S>>;

impl<S, R> EffectResult<R, StateChange<S>> {
    /// Whether the command replaced the state.
    pub fn state_was_updated(&self) -> bool {
        matches!(self.kind, StateChange::Update(_))
    }

    /// The state the command set, if it set one.
    pub fn updated_state(&self) -> Option<&S> {
        match &self.kind {
            StateChange::Update(state) => Some(state),
            _ => None,
        }
    }

    /// Whether the command deleted the entity.
    pub fn state_was_deleted(&self) -> bool {
        matches!(self.kind, StateChange::Delete)
    }
}
