//! Replicated entities in the entity host: what is kept of one is its data merged from every
//! replica's row, and a command's change is this replica's row (the data as this process has
//! it), which no other process writes.
//!
//! ## Replicated entities (how it works, and why)
//!
//! A replicated entity is a `Replicas` kind in the entity host, so commands to one id run one at
//! a time on each process, with the value entity's pipelined commits and replies sent after
//! commit. What differs is the store: each replica (process) keeps its own row per entity
//! (`replica_state`: type, id, replica, version, the data as JSON), written with no version
//! expectation because no one else writes it. Loading merges every replica's row. So two
//! processes never conflict over a hot id, where a value entity would hand it back and forth.
//!
//! On PostgreSQL each replica write notifies the other processes as it commits (`NOTIFY`, with
//! the type, id and replica); a process that hears it, if it has the entity in memory, reads the
//! entity's rows and joins them into its copy under the entity's lock (notices that arrive
//! together are merged together, one read per entity). A join never loses the process's own
//! changes, so nothing waits for its writes in flight, and a hot entity's commands keep flowing.
//! In a batch of the group commit, a replica's row written several times is written once (the
//! last), so a hot id's commands cost one row per commit on PostgreSQL. A write
//! with `Majority` or `All` carries a token: the processes that merged it answer with the token,
//! and the writer replies once enough of them did (live processes are counted by their leases),
//! or with a 503 after half the request timeout. A process that lost its listening connection
//! reloads every copy when it is back. Reads do not look at the store: they answer from the
//! merged copy, which is the trade this kind makes for writes without conflicts.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::entity::{Decision, EntityHost, EntityKind, Persist, StoredPosition};
use crate::client::ComponentClient;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::outcome::HandlerOutcome;
use crate::replicated_entity::{
    Effect, Replica, ReplicatedEntityComponent, ReplicatedEntityContext, WriteConsistency,
};
use crate::replication::Replication;
use crate::status::ErrorCode;
use crate::store::{ReplicaWrite, Store};

/// A replicated entity type at run time.
pub type ReplicatedEntityRuntime<E> = EntityHost<Replicas<E>>;

/// The replicated kind: the user's component, persisted as one row per replica.
pub struct Replicas<E> {
    entity: E,
    replication: std::sync::Arc<Replication>,
}

impl<E> Replicas<E> {
    /// The kind of `entity`, replicated through `replication`.
    pub fn new(entity: E, replication: std::sync::Arc<Replication>) -> Self {
        Self {
            entity,
            replication,
        }
    }
}

/// One replica's row as stored.
#[derive(Serialize, Deserialize)]
struct StoredReplica<D> {
    data: D,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
}

impl<E: ReplicatedEntityComponent> EntityKind for Replicas<E> {
    const TYPE_ID: &'static str = E::TYPE_ID;
    const COMPONENT_ID: &'static str = E::COMPONENT_ID;
    /// Other processes' writes arrive as notices, not as moved positions.
    const SINGLE_WRITER: bool = false;
    type Memory = Replica<E::State>;

    async fn load(
        &self,
        store: &dyn Store,
        entity_id: &str,
    ) -> Result<(Replica<E::State>, u64), CallError> {
        let rows = store
            .load_replicas(E::TYPE_ID, entity_id)
            .await
            .map_err(|error| super::load_failed(E::TYPE_ID, entity_id, "the data", &error))?;
        let me = self.replication.replica();
        let mut position = 0;
        let mut merged = Vec::with_capacity(rows.len());
        for row in rows {
            let stored: StoredReplica<E::State> =
                serde_json::from_slice(&row.payload).map_err(|error| {
                    super::unreadable(E::TYPE_ID, entity_id, "a replica's data", &error)
                })?;
            merged.push((stored.data, stored.deleted));
            if row.replica == me {
                position = row.version;
            }
        }
        let merged = Replica::merged(me, merged);
        Ok((merged, position))
    }

    fn stored_position(_: &dyn Store, _: &str) -> StoredPosition {
        Box::pin(std::future::ready(Ok(0)))
    }
}

impl<E: ReplicatedEntityComponent> EntityHost<Replicas<E>> {
    /// Runs one command on entity `entity_id`.
    pub async fn command<R: Serialize + Send + 'static>(
        &self,
        entity_id: String,
        metadata: Metadata,
        client: ComponentClient,
        handler: impl FnOnce(&E, &E::State, &ReplicatedEntityContext) -> Effect<E::State, R>,
    ) -> HandlerOutcome {
        let key = metadata.command_key().cloned();
        let context = ReplicatedEntityContext::new(entity_id.clone(), metadata, client);
        let replication = std::sync::Arc::clone(&self.kind().replication);
        let me = replication.replica();
        // Set when the write must reach other processes before the reply.
        let mut confirm: Option<(WriteConsistency, u64)> = None;
        let waiting = &mut confirm;
        let outcome = self
            .run_keyed_command(&entity_id, key.as_deref(), |kind, memory, version| {
                let ran = memory.run(E::TYPE_ID, &entity_id, |data| {
                    handler(&kind.entity, data, &context)
                })?;
                let persist = match ran.changed {
                    false => None,
                    true => {
                        let token = (ran.consistency != WriteConsistency::Local)
                            .then(|| replication.new_token());
                        if let Some(token) = token {
                            *waiting = Some((ran.consistency, token));
                        }
                        let payload = serialized::<E>(memory, &entity_id)?;
                        Some(Persist {
                            write: ReplicaWrite {
                                type_id: E::TYPE_ID.to_owned(),
                                entity_id: entity_id.clone(),
                                replica: me,
                                payload,
                                token,
                                kept_reply: None,
                            }
                            .into(),
                            position: version + 1,
                        })
                    }
                };
                Ok(Decision {
                    persist,
                    answer: ran.answer,
                    side_effects: ran.side_effects,
                    before_commit: None,
                })
            })
            .await;
        let Some((consistency, token)) = confirm else {
            return outcome;
        };
        if outcome.is_failure() || outcome.is_replayed() {
            // Not written (or written by the first run): no one is to confirm it.
            replication.forget_token(token);
            return outcome;
        }
        let timeout = replication.confirm_timeout();
        match replication.taken_in(token, consistency, timeout).await {
            Ok(()) => outcome,
            Err(missing) => HandlerOutcome::error(CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!(
                    "the update of {} '{entity_id}' is applied on this process and will still reach the others, but {missing} of them did not confirm it in time ({consistency:?} consistency)",
                    E::TYPE_ID
                ),
            )),
        }
    }
}

fn serialized<E: ReplicatedEntityComponent>(
    replica: &Replica<E::State>,
    entity_id: &str,
) -> Result<Bytes, CallError> {
    let stored = StoredReplica {
        data: replica.data(),
        deleted: replica.is_deleted(),
    };
    serde_json::to_vec(&stored)
        .map(Bytes::from)
        .map_err(|error| {
            CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!(
                    "the data of {} '{entity_id}' cannot be serialized: {error}",
                    E::TYPE_ID
                ),
            )
        })
}

impl<E: ReplicatedEntityComponent> crate::replication::ReplicaCopies for EntityHost<Replicas<E>> {
    fn changed_elsewhere<'a>(
        &'a self,
        entity_id: &'a str,
        rows: Option<Vec<Bytes>>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if !self.is_resident(entity_id) {
                // Loaded from the store, with the write, when it is next used.
                return;
            }
            // The rows as the notices carried them, or read outside the entity's lock; joined
            // in under it. Merging never loses this process's own changes (in flight or not),
            // so nothing waits for them.
            let me = self.kind().replication.replica();
            let rows = match rows {
                Some(rows) => rows,
                None => match self.store().load_replicas(E::TYPE_ID, entity_id).await {
                    Ok(rows) => rows
                        .into_iter()
                        .filter(|row| row.replica != me)
                        .map(|row| row.payload)
                        .collect(),
                    Err(_) => return self.reload_before_next(entity_id),
                },
            };
            let mut others = Vec::with_capacity(rows.len());
            for row in rows {
                match serde_json::from_slice::<StoredReplica<E::State>>(&row) {
                    Ok(stored) => others.push((stored.data, stored.deleted)),
                    Err(_) => return self.reload_before_next(entity_id),
                }
            }
            let others = Replica::merged(me, others);
            self.update_resident(entity_id, |memory| memory.merge(&others))
                .await;
        })
    }

    fn all_changed_elsewhere(&self) {
        self.reload_all_before_next();
    }
}
