//! Unit tests of event-sourced entities: run commands, apply their events through the entity's
//! event handler, and inspect events and state.

use kalix_core::action::SideEffect;
use kalix_core::event_sourced_entity::{
    Effect, EventSourcedComponent, EventSourcedEntityContext, Then,
};
use kalix_core::{Call, CallError, ComponentClient, ErrorCode, Metadata};

/// Runs the command handlers of one event-sourced entity directly. Emitted events are applied
/// through its `#[event_handler]`, as the runtime does; forwards and side effects are recorded,
/// not run.
///
/// ```
/// use kalix_core::prelude::*;
/// use kalix_testkit::EventSourcedTestkit;
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
/// let mut testkit = EventSourcedTestkit::new(Counter);
/// testkit.call(|entity, state, _| entity.add(state, 5));
/// let result = testkit.call(|entity, state, _| entity.add(state, 10));
/// assert_eq!(*result.reply(), 15);
/// assert_eq!(result.events(), [Event::Added(10)]);
/// assert_eq!(testkit.all_events(), [Event::Added(5), Event::Added(10)]);
/// ```
pub struct EventSourcedTestkit<E: EventSourcedComponent> {
    entity: E,
    entity_id: String,
    state: Option<E::State>,
    events: Vec<E::Event>,
    deleted: bool,
    metadata: Metadata,
}

impl<E: EventSourcedComponent> EventSourcedTestkit<E>
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

    /// Runs one command and applies its events.
    pub fn call<R: Send + 'static>(
        &mut self,
        handler: impl FnOnce(&E, &E::State, &EventSourcedEntityContext) -> Effect<E::State, E::Event, R>,
    ) -> EventSourcedResult<E::State, E::Event, R> {
        let context = EventSourcedEntityContext::new(
            self.entity_id.clone(),
            self.metadata.clone(),
            ComponentClient::disconnected(),
        );
        let (events, delete, then, side_effects) =
            handler(&self.entity, self.state(), &context).into_parts();
        if self.deleted && (!events.is_empty() || delete) {
            let error = CallError::new(
                ErrorCode::CONFLICT,
                format!(
                    "{} '{}' was deleted and accepts no more events",
                    E::TYPE_ID,
                    self.entity_id
                ),
            );
            return EventSourcedResult {
                next: Next::Error(error),
                events: Vec::new(),
                cursor: 0,
                state: self.state().clone(),
                side_effects: Vec::new(),
            };
        }
        let mut state = self.state.take().expect("state present between commands");
        for event in &events {
            state = self.entity.apply(state, event);
        }
        let next = match then {
            Then::Reply(reply, metadata) => Next::Reply(reply(&state), metadata),
            Then::Forward(call) => Next::Forward(call.call().clone()),
            Then::Error(error) => Next::Error(error),
        };
        self.events.extend(events.iter().cloned());
        self.deleted |= delete;
        self.state = Some(state.clone());
        EventSourcedResult {
            next,
            events,
            cursor: 0,
            state,
            side_effects,
        }
    }
}

#[derive(Debug)]
enum Next<R> {
    Reply(R, Metadata),
    Forward(Call),
    Error(CallError),
}

/// The effect of one command: the events it emitted, the state after them, and what followed.
#[derive(Debug)]
pub struct EventSourcedResult<S, Ev, R> {
    next: Next<R>,
    events: Vec<Ev>,
    cursor: usize,
    state: S,
    side_effects: Vec<SideEffect>,
}

impl<S, Ev, R> EventSourcedResult<S, Ev, R> {
    fn describe(&self) -> String {
        match &self.next {
            Next::Reply(..) => "a reply".to_owned(),
            Next::Forward(call) => format!("a forward to {}", call.target()),
            Next::Error(error) => format!("an error ({error})"),
        }
    }

    /// Whether the command replied.
    pub fn is_reply(&self) -> bool {
        matches!(self.next, Next::Reply(..))
    }

    /// The reply. Panics if the command did not reply.
    pub fn reply(&self) -> &R {
        match &self.next {
            Next::Reply(value, _) => value,
            _ => panic!("expected a reply, but the effect was {}", self.describe()),
        }
    }

    /// The reply's metadata. Panics if the command did not reply.
    pub fn reply_metadata(&self) -> &Metadata {
        match &self.next {
            Next::Reply(_, metadata) => metadata,
            _ => panic!("expected a reply, but the effect was {}", self.describe()),
        }
    }

    /// Whether the command failed.
    pub fn is_error(&self) -> bool {
        matches!(self.next, Next::Error(_))
    }

    /// The error's description. Panics if the command did not fail.
    pub fn error(&self) -> &str {
        match &self.next {
            Next::Error(error) => error.description(),
            _ => panic!("expected an error, but the effect was {}", self.describe()),
        }
    }

    /// The error's status. Panics if the command did not fail.
    pub fn error_status(&self) -> ErrorCode {
        match &self.next {
            Next::Error(error) => error.error_code(),
            _ => panic!("expected an error, but the effect was {}", self.describe()),
        }
    }

    /// The forwarded call. Panics if the command did not forward.
    pub fn forward(&self) -> &Call {
        match &self.next {
            Next::Forward(call) => call,
            _ => panic!("expected a forward, but the effect was {}", self.describe()),
        }
    }

    /// Whether the command emitted any event.
    pub fn did_emit_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The events the command emitted, in order.
    pub fn events(&self) -> &[Ev] {
        &self.events
    }

    /// The next emitted event (after those already taken this way) that `matches`, e.g.
    /// `result.next_event(|e| matches!(e, Event::ItemAdded { .. }))`. Panics if there is none.
    pub fn next_event(&mut self, matches: impl Fn(&Ev) -> bool) -> &Ev {
        let found = self.events[self.cursor..].iter().position(matches);
        match found {
            Some(offset) => {
                self.cursor += offset + 1;
                &self.events[self.cursor - 1]
            }
            None => panic!(
                "no matching event among the {} emitted after the first {} already taken",
                self.events.len() - self.cursor,
                self.cursor
            ),
        }
    }

    /// The state after the command's events.
    pub fn updated_state(&self) -> &S {
        &self.state
    }

    /// The side effects, in the order they were added.
    pub fn side_effects(&self) -> &[SideEffect] {
        &self.side_effects
    }
}
