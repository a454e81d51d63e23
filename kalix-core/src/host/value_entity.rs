//! Value entities in the entity host: what is kept of one is its state, and a command's change
//! is one versioned state row.

use bytes::Bytes;
use serde::Serialize;

use super::entity::{Decision, EntityHost, EntityKind, Persist, StoredPosition};
use crate::client::ComponentClient;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::outcome::HandlerOutcome;
use crate::status::ErrorCode;
use crate::store::{StateWrite, Store};
use crate::value_entity::{Effect, StateChange, ValueEntityComponent, ValueEntityContext};

/// A value entity type at run time.
pub type ValueEntityRuntime<E> = EntityHost<StateRow<E>>;

/// The value entity kind: the user's component, persisted as one state row per entity.
pub struct StateRow<E>(pub E);

impl<E: ValueEntityComponent> EntityKind for StateRow<E> {
    const TYPE_ID: &'static str = E::TYPE_ID;
    const COMPONENT_ID: &'static str = E::COMPONENT_ID;
    type Memory = E::State;

    async fn load(&self, store: &dyn Store, entity_id: &str) -> Result<(E::State, u64), CallError> {
        let stored = store
            .load(E::TYPE_ID, entity_id)
            .await
            .map_err(|error| super::load_failed(E::TYPE_ID, entity_id, "the state", &error))?;
        let Some(stored) = stored else {
            return Ok((E::empty_state(entity_id), 0));
        };
        let state = match stored.payload {
            None => E::empty_state(entity_id),
            Some(json) => {
                let current = crate::value_entity::current_state_json::<E>(&json);
                serde_json::from_slice(&current).map_err(|error| {
                    super::unreadable(E::TYPE_ID, entity_id, "the stored state", &error)
                })?
            }
        };
        Ok((state, stored.version))
    }

    fn stored_position(store: &dyn Store, entity_id: &str) -> StoredPosition {
        store.state_version(E::TYPE_ID, entity_id)
    }
}

impl<E: ValueEntityComponent> EntityHost<StateRow<E>> {
    /// Runs one command on entity `entity_id`.
    pub async fn command<R: Serialize + Send + 'static>(
        &self,
        entity_id: String,
        metadata: Metadata,
        client: ComponentClient,
        handler: impl FnOnce(&E, &E::State, &ValueEntityContext) -> Effect<E::State, R>,
    ) -> HandlerOutcome {
        let key = metadata.command_key().cloned();
        let context = ValueEntityContext::new(entity_id.clone(), metadata, client);
        self.run_keyed_command(
            &entity_id,
            key.as_deref(),
            |StateRow(entity), state, version| {
                let (change, answer, side_effects) = handler(entity, state, &context).into_parts();
                let payload = match &change {
                    StateChange::None => None,
                    StateChange::Update(new) => Some(Some(serialized::<E>(new, &entity_id)?)),
                    StateChange::Delete => Some(None),
                };
                let persist = payload.map(|payload| Persist {
                    write: StateWrite {
                        type_id: E::TYPE_ID.to_owned(),
                        entity_id: entity_id.clone(),
                        expected_version: version,
                        follows_own_write: false,
                        payload,
                        timers: Vec::new(),
                        kept_reply: None,
                        trace_parent: crate::telemetry::trace_context::current_traceparent(),
                    }
                    .into(),
                    position: version + 1,
                });
                change.apply_to(state, || E::empty_state(&entity_id));
                Ok(Decision {
                    persist,
                    answer,
                    side_effects,
                    before_commit: None,
                })
            },
        )
        .await
    }
}

fn serialized<E: ValueEntityComponent>(
    state: &E::State,
    entity_id: &str,
) -> Result<Bytes, CallError> {
    let state = serde_json::to_vec(state).map(Bytes::from);
    state
        .map(crate::value_entity::stored_state_json::<E>)
        .map_err(|error| {
            CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!(
                    "the new state of {} '{entity_id}' cannot be serialized: {error}",
                    E::TYPE_ID
                ),
            )
        })
}
