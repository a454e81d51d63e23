//! The trait `#[event_sourced_entity]` implements.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::ComponentClient;

/// Links an event type to the state of the entity that emits it, so that in
/// `Effect::emit_event(event).then_reply(|state| ..)` the state's type follows from the event's.
///
/// `#[event_sourced_entity]` implements it for the entity's event type; an event type therefore
/// belongs to one entity type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the event type of an event sourced entity",
    note = "it becomes one when the handlers of an `#[event_sourced_entity]` return `event_sourced_entity::Effect<State, {Self}, Reply>`"
)]
pub trait EntityEvent {
    /// The state of the entity whose event this is.
    type State;
}

/// Implemented by `#[event_sourced_entity]` for the type of the `impl` block. You never implement
/// it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event sourced entity",
    label = "not an event sourced entity",
    note = "put `#[event_sourced_entity(type_id = \"..\", id = \"..\")]` on an `impl {Self}` block"
)]
pub trait EventSourcedComponent: Send + Sync + Sized + 'static {
    /// The component id: the module of the `impl` block and the type's name.
    const COMPONENT_ID: &'static str;
    /// The journal's namespace; changing it starts from empty journals.
    const TYPE_ID: &'static str;
    /// The path parameter that carries the entity id.
    const ID_PARAM: &'static str;
    /// A snapshot is taken each time the journal passes a multiple of this many events.
    const SNAPSHOT_EVERY: u64;
    /// The state.
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The events.
    type Event: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The generated client, with one method per command handler.
    type Client;
    /// The client of the entity `entity_id`.
    fn client(client: ComponentClient, entity_id: String) -> Self::Client;
    /// The state before any event.
    fn empty_state(entity_id: &str) -> Self::State;
    /// Folds one event into the state (the `#[event_handler]` method).
    fn apply(&self, state: Self::State, event: &Self::Event) -> Self::State;
    /// The version events are written at (`<type name>#<version>` in the journal, once above
    /// 0): the `CURRENT_VERSION` of the entity's `migration`, if it names one.
    const EVENT_VERSION: u32 = 0;
    /// An event written at `from_version` in the shape of today (the migration's `transform`).
    fn migrate_event(from_version: u32, event: serde_json::Value) -> serde_json::Value {
        let _ = from_version;
        event
    }
}

/// How the events of an entity written in older shapes become the current one (Kalix's
/// `JsonMigration`): `#[event_sourced_entity(.., migration = CustomerEventMigration)]`.
///
/// Events are stored with their version beside their type name (`CustomerCreated#1`); one
/// stored below [`JsonMigration::CURRENT_VERSION`] (an event without a version is version 0)
/// goes through [`JsonMigration::transform`] as JSON before it is read, so journals written
/// before a change of shape still replay.
///
/// ```
/// use kalix_core::event_sourced_entity::JsonMigration;
/// use serde_json::{Value, json};
///
/// /// Version 1 moved `street` and `city` into `address`.
/// pub struct CustomerEventMigration;
///
/// impl JsonMigration for CustomerEventMigration {
///     const CURRENT_VERSION: u32 = 1;
///
///     fn transform(from_version: u32, mut event: Value) -> Value {
///         if from_version < 1 {
///             if let Some(created) = event.get_mut("CustomerCreated").and_then(Value::as_object_mut) {
///                 let street = created.remove("street").unwrap_or(Value::Null);
///                 let city = created.remove("city").unwrap_or(Value::Null);
///                 created.insert("address".into(), json!({"street": street, "city": city}));
///             }
///         }
///         event
///     }
/// }
///
/// let old = json!({"CustomerCreated": {"email": "a@b", "name": "A", "street": "S", "city": "C"}});
/// let new = CustomerEventMigration::transform(0, old);
/// assert_eq!(new["CustomerCreated"]["address"]["city"], "C");
/// ```
pub trait JsonMigration {
    /// The version events are written at now.
    const CURRENT_VERSION: u32;
    /// `event`, written at `from_version`, in the current shape.
    fn transform(from_version: u32, event: serde_json::Value) -> serde_json::Value;
}

/// A stored event's type name without its version, and the version (0 if none).
pub(crate) fn split_type_name(stored: &str) -> (&str, u32) {
    match stored.rsplit_once('#') {
        Some((name, version)) => (name, version.parse().unwrap_or(0)),
        None => (stored, 0),
    }
}

/// A stored event of `E`, migrated to the current shape if it was written at an older version.
pub(crate) fn read_event<E: EventSourcedComponent>(
    type_name: &str,
    payload: &[u8],
) -> Result<E::Event, serde_json::Error> {
    let (_, version) = split_type_name(type_name);
    if version >= E::EVENT_VERSION {
        return serde_json::from_slice(payload);
    }
    let old: serde_json::Value = serde_json::from_slice(payload)?;
    serde_json::from_value(E::migrate_event(version, old))
}

/// A stored event of `E` as JSON bytes in the current shape (for readers of the feed).
pub(crate) fn current_event_json<E: EventSourcedComponent>(
    type_name: &str,
    payload: &bytes::Bytes,
) -> bytes::Bytes {
    let (_, version) = split_type_name(type_name);
    if version >= E::EVENT_VERSION {
        return payload.clone();
    }
    match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(old) => match serde_json::to_vec(&E::migrate_event(version, old)) {
            Ok(json) => bytes::Bytes::from(json),
            Err(_) => payload.clone(),
        },
        Err(_) => payload.clone(),
    }
}
