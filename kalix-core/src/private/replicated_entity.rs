//! What generated code of replicated entities reaches: their runtime and commands.

use super::*;
use crate::replicated_entity::ReplicatedEntityComponent;

/// Builds a replicated entity's runtime around the user's component.
pub fn construct_replicated_entity<E: ReplicatedEntityComponent>(
    env: &ComponentEnv<'_>,
    entity: Result<E, MissingDependency>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    let replication = Arc::clone(&env.replication);
    let runtime =
        ReplicatedEntityRuntime::new(Replicas::new(entity?, Arc::clone(&replication)), env);
    let copies: Arc<dyn crate::replication::ReplicaCopies> = runtime.clone();
    replication.register(E::TYPE_ID, Arc::downgrade(&copies));
    Ok(runtime)
}

/// A replicated entity built with `Default`.
pub fn default_replicated_entity<E: ReplicatedEntityComponent + DefaultComponent>(
    env: &ComponentEnv<'_>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    construct_replicated_entity(env, Ok(E::build()))
}

/// Runs one command on a replicated entity; the bound on the reply carries a readable error.
pub async fn replicated_entity_command<E: ReplicatedEntityComponent, R: ReplyType>(
    runtime: &ReplicatedEntityRuntime<E>,
    entity_id: String,
    metadata: crate::Metadata,
    client: ComponentClient,
    handler: impl FnOnce(
        &E,
        &E::State,
        &crate::replicated_entity::ReplicatedEntityContext,
    ) -> crate::replicated_entity::Effect<E::State, R>,
) -> HandlerOutcome {
    runtime.command(entity_id, metadata, client, handler).await
}
