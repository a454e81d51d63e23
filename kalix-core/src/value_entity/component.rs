//! The trait `#[value_entity]` implements.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::ComponentClient;

/// Implemented by `#[value_entity]` for the type of the `impl` block. You never implement it by
/// hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value entity",
    label = "not a value entity",
    note = "put `#[value_entity(type_id = \"..\", id = \"..\")]` on an `impl {Self}` block"
)]
pub trait ValueEntityComponent: Send + Sync + Sized + 'static {
    /// The component id: the module of the `impl` block and the type's name.
    const COMPONENT_ID: &'static str;
    /// The storage namespace; changing it starts from empty state.
    const TYPE_ID: &'static str;
    /// The path parameter that carries the entity id.
    const ID_PARAM: &'static str;
    /// The state.
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The generated client, with one method per handler.
    type Client;
    /// The client of the entity `entity_id`.
    fn client(client: ComponentClient, entity_id: String) -> Self::Client;
    /// The state a new (or deleted) entity has.
    fn empty_state(entity_id: &str) -> Self::State;

    /// The version states are written at now: 0 without a migration, else the migration's
    /// `CURRENT_VERSION` (`#[value_entity(.., migration = M)]`).
    const STATE_VERSION: u32 = 0;

    /// `state`, written at `from_version`, in the current shape (the migration's `transform`).
    fn migrate_state(from_version: u32, state: serde_json::Value) -> serde_json::Value {
        let _ = from_version;
        state
    }
}

/// The field a versioned state is kept under, beside `kalix-state-version`.
const VERSIONED_STATE: &str = "state";
/// The field holding the version a state was written at.
const STATE_VERSION_FIELD: &str = "kalix-state-version";

/// A state's JSON as stored: as it is for an entity without a migration (version 0), else with
/// the version it is written at (`{"kalix-state-version": 1, "state": ..}`), so a later
/// migration knows what shape it has.
pub(crate) fn stored_state_json<E: ValueEntityComponent>(state: bytes::Bytes) -> bytes::Bytes {
    if E::STATE_VERSION == 0 {
        return state;
    }
    // The state is JSON already: it is written into the wrapper as it is, not parsed again.
    let head = format!(
        "{{\"{STATE_VERSION_FIELD}\":{},\"{VERSIONED_STATE}\":",
        E::STATE_VERSION
    );
    let mut versioned = Vec::with_capacity(head.len() + state.len() + 1);
    versioned.extend_from_slice(head.as_bytes());
    versioned.extend_from_slice(&state);
    versioned.push(b'}');
    bytes::Bytes::from(versioned)
}

/// A stored state's JSON in the current shape: unwrapped, and migrated from the version it was
/// written at (a state without a version is version 0) when that is older than the current.
pub(crate) fn current_state_json<E: ValueEntityComponent>(stored: &bytes::Bytes) -> bytes::Bytes {
    let versioned = stored.starts_with(b"{\"kalix-state-version\"");
    if E::STATE_VERSION == 0 && !versioned {
        return stored.clone();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(stored) else {
        return stored.clone();
    };
    let (version, state) = match value {
        serde_json::Value::Object(mut fields) if versioned => {
            let version = fields
                .get(STATE_VERSION_FIELD)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0) as u32;
            let state = fields.remove(VERSIONED_STATE).unwrap_or_default();
            (version, state)
        }
        other => (0, other),
    };
    let state = if version < E::STATE_VERSION {
        E::migrate_state(version, state)
    } else {
        state
    };
    serde_json::to_vec(&state)
        .map(bytes::Bytes::from)
        .unwrap_or_else(|_| stored.clone())
}
