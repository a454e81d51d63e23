//! Unit tests of event-sourced entities: run commands, apply their events through the entity's
//! event handler, and inspect events and state.

use kalix_core::__support::Applied;
use kalix_core::event_sourced_entity::{Effect, EventSourcedComponent, EventSourcedEntityContext};
use kalix_core::{ComponentClient, Metadata};

use crate::EffectResult;

/// Runs the command handlers of one event-sourced entity directly. Emitted events are applied
/// through its `#[event_handler]`, as the runtime does; forwards and side effects are recorded,
/// not run.
///
/// ```
/// use kalix_core::prelude::*;
/// use kalix_testkit::EventSourcedTestKit;
///
/// #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// pub enum Event { Added(i64) }
///
/// #[derive(Default)]
/// pub struct Counter;
///
/// #[event_sourced_entity(type_id = "counter", id = "id")]
/// impl Counter {
///     #[post("/counter/<id>/add/<n>")]
///     fn add(&self, _total: &i64, n: i64) -> event_sourced_entity::Effect<i64, Event, i64> {
///         event_sourced_entity::Effect::emit_event(Event::Added(n)).then_reply(|total| *total)
///     }
///
///     #[event_handler]
///     fn apply(&self, total: i64, event: &Event) -> i64 {
///         match event {
///             Event::Added(n) => total + n,
///         }
///     }
/// }
///
/// let mut testkit = EventSourcedTestKit::new(Counter);
/// testkit.call(|entity, state, _| entity.add(state, 5));
/// let result = testkit.call(|entity, state, _| entity.add(state, 10));
/// assert_eq!(*result.reply(), 15);
/// assert_eq!(result.events(), [Event::Added(10)]);
/// assert_eq!(testkit.all_events(), [Event::Added(5), Event::Added(10)]);
/// ```
pub struct EventSourcedTestKit<E: EventSourcedComponent> {
    entity: E,
    entity_id: String,
    state: Option<E::State>,
    events: Vec<E::Event>,
    deleted: bool,
    metadata: Metadata,
}

impl<E: EventSourcedComponent> EventSourcedTestKit<E>
where
    E::State: Clone,
    E::Event: Clone,
{
    /// A testkit for the entity with id `testkit-entity-id` (Kalix's default).
    pub fn new(entity: E) -> Self {
        Self::with_id(entity, "testkit-entity-id")
    }

    /// A testkit for the entity with the given id.
    pub fn with_id(entity: E, entity_id: impl Into<String>) -> Self {
        let entity_id = entity_id.into();
        Self {
            state: Some(E::empty_state(&entity_id)),
            entity,
            entity_id,
            events: Vec::new(),
            deleted: false,
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

    /// Returns the testkit with `events` in the entity's history: each is applied through its
    /// `#[event_handler]`, in order, as a replay does, and the command under test runs on the
    /// state they lead to. They are history, not what the test emits: [`Self::all_events`]
    /// leaves them out.
    ///
    /// ```
    /// # use kalix_core::prelude::*;
    /// # use kalix_testkit::EventSourcedTestKit;
    /// # #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    /// # pub enum Event { Added(i64) }
    /// # #[derive(Default)]
    /// # pub struct Counter;
    /// # #[event_sourced_entity(type_id = "counter", id = "id")]
    /// # impl Counter {
    /// #     #[post("/counter/<id>/add/<n>")]
    /// #     fn add(&self, _total: &i64, n: i64) -> event_sourced_entity::Effect<i64, Event, i64> {
    /// #         event_sourced_entity::Effect::emit_event(Event::Added(n)).then_reply(|total| *total)
    /// #     }
    /// #     #[event_handler]
    /// #     fn apply(&self, total: i64, event: &Event) -> i64 {
    /// #         match event { Event::Added(n) => total + n }
    /// #     }
    /// # }
    /// let mut testkit = EventSourcedTestKit::new(Counter)
    ///     .given_events([Event::Added(30), Event::Added(10)]);
    /// let result = testkit.call(|entity, state, _| entity.add(state, 2));
    /// assert_eq!(*result.reply(), 42);
    /// assert_eq!(testkit.all_events(), [Event::Added(2)]);
    /// ```
    #[must_use]
    pub fn given_events(mut self, events: impl IntoIterator<Item = E::Event>) -> Self {
        let mut state = self.state.take().expect("state present between commands");
        for event in events {
            state = self.entity.apply(state, &event);
        }
        self.state = Some(state);
        self
    }

    /// Returns the testkit with the entity already in `state` (as a snapshot would leave it):
    /// the command under test runs on it.
    #[must_use]
    pub fn given_state(mut self, state: E::State) -> Self {
        self.state = Some(state);
        self
    }

    /// The current state.
    pub fn state(&self) -> &E::State {
        self.state.as_ref().expect("state present between commands")
    }

    /// Every event emitted so far, in order.
    pub fn all_events(&self) -> &[E::Event] {
        &self.events
    }

    /// Whether a command deleted the entity.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// Runs one command and applies its events, as the runtime does: a deleted entity refuses
    /// new events with a 409.
    pub fn call<R: Send + 'static>(
        &mut self,
        handler: impl FnOnce(&E, &E::State, &EventSourcedEntityContext) -> Effect<E::State, E::Event, R>,
    ) -> EventSourcedResult<E::State, E::Event, R> {
        let context = EventSourcedEntityContext::new(
            self.entity_id.clone(),
            self.metadata.clone(),
            ComponentClient::disconnected(),
        );
        let effect = handler(&self.entity, self.state(), &context);
        let state = self.state.take().expect("state present between commands");
        let transition = Applied::of(&self.entity, &self.entity_id, state, self.deleted, effect);
        self.events.extend(transition.events.iter().cloned());
        self.deleted |= transition.delete;
        self.state = Some(transition.state.clone());
        let emitted = Emitted {
            events: transition.events,
            cursor: 0,
            state: transition.state,
        };
        EffectResult::new(transition.answer, transition.side_effects, emitted)
    }
}

/// The effect of one event-sourced command: its answer, side effects, the events it emitted and
/// the state after them.
pub type EventSourcedResult<S, Ev, R> = EffectResult<R, Emitted<S, Ev>>;

/// What an event-sourced command adds to its result: the events it emitted and the state after.
#[derive(Debug)]
pub struct Emitted<S, Ev> {
    events: Vec<Ev>,
    cursor: usize,
    state: S,
}

impl<S, Ev, R> EffectResult<R, Emitted<S, Ev>> {
    /// Whether the command emitted any event.
    pub fn did_emit_events(&self) -> bool {
        !self.kind.events.is_empty()
    }

    /// The events the command emitted, in order.
    pub fn events(&self) -> &[Ev] {
        &self.kind.events
    }

    /// The next emitted event (after those already taken this way) that `matches`, e.g.
    /// `result.next_event(|e| matches!(e, Event::ItemAdded { .. }))`. Panics if there is none.
    #[track_caller]
    pub fn next_event(&mut self, matches: impl Fn(&Ev) -> bool) -> &Ev {
        let emitted = &mut self.kind;
        let found = emitted.events[emitted.cursor..].iter().position(matches);
        match found {
            Some(offset) => {
                emitted.cursor += offset + 1;
                &emitted.events[emitted.cursor - 1]
            }
            None => panic!(
                "no matching event among the {} emitted after the first {} already taken",
                emitted.events.len() - emitted.cursor,
                emitted.cursor
            ),
        }
    }

    /// The state after the command's events.
    pub fn updated_state(&self) -> &S {
        &self.kind.state
    }
}
