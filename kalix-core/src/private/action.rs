//! What generated code of actions reaches: their effects carried out, their construction.

use super::*;

/// Carries out an action's effect.
pub async fn complete_action<T: ReplyType>(effect: Effect<T>) -> HandlerOutcome {
    crate::host::action::complete(effect).await
}

/// Carries out an action's streamed effects.
pub fn complete_action_stream<T: ReplyType>(stream: EffectStream<T>) -> HandlerOutcome {
    crate::host::action::complete_stream(stream)
}

/// Registers an action built by a user constructor.
pub fn construct_action<T: Any + Send + Sync>(
    _: &ComponentEnv<'_>,
    instance: Result<T, MissingDependency>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    Ok(Arc::new(instance?))
}
