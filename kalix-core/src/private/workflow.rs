//! What generated code of workflows reaches: their runtime, commands, steps and internal calls.

use super::*;

pub use crate::host::workflow::{WorkflowRow, WorkflowRuntime};
use crate::workflow::WorkflowComponent;

impl<W, S, R> EffectReply for crate::workflow::Effect<W, S, R> {
    type Reply = R;
}

/// Builds a workflow's runtime around the user's component.
pub fn construct_workflow<W: WorkflowComponent>(
    env: &ComponentEnv<'_>,
    workflow: Result<W, MissingDependency>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    let kind = WorkflowRow::new(
        workflow?,
        Arc::clone(&env.clock),
        env.timers.clone(),
        env.workflow_observer.clone(),
        Arc::clone(&env.step_slots),
    )
    .run_steps_twice(env.steps_twice);
    Ok(WorkflowRuntime::new(kind, env))
}

/// A workflow built with `Default`.
pub fn default_workflow<W: WorkflowComponent + DefaultComponent>(
    env: &ComponentEnv<'_>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    construct_workflow(env, Ok(W::build()))
}

/// Runs one command on a workflow; the bound on the reply carries a readable error.
pub async fn workflow_command<W: WorkflowComponent, R: ReplyType>(
    runtime: &Arc<WorkflowRuntime<W>>,
    workflow_id: String,
    metadata: crate::Metadata,
    client: ComponentClient,
    handler: impl FnOnce(
        &W,
        Option<&W::State>,
        &crate::workflow::WorkflowContext,
    ) -> crate::workflow::Effect<W, W::State, R>,
) -> HandlerOutcome {
    runtime
        .command(workflow_id, metadata, client, handler)
        .await
}

pub use crate::host::workflow::{
    ADMIN as WORKFLOW_ADMIN, RESUME as WORKFLOW_RESUME, TIME_OUT as WORKFLOW_TIME_OUT,
};

/// The watchdog of a workflow fired: resume its step unless this process runs it.
pub fn workflow_resume<W: WorkflowComponent>(
    instance: Arc<dyn Any + Send + Sync>,
    invocation: Invocation,
    client: ComponentClient,
) -> BoxFuture<'static, HandlerOutcome> {
    let runtime = downcast::<WorkflowRuntime<W>>(instance);
    on_workflow::<W, _>(invocation, move |id| async move {
        runtime.resume(id, client).await
    })
}

/// The workflow timeout fired.
pub fn workflow_time_out<W: WorkflowComponent>(
    instance: Arc<dyn Any + Send + Sync>,
    invocation: Invocation,
    client: ComponentClient,
) -> BoxFuture<'static, HandlerOutcome> {
    let runtime = downcast::<WorkflowRuntime<W>>(instance);
    on_workflow::<W, _>(invocation, move |id| async move {
        runtime.time_out(id, client).await
    })
}

/// An operator suspends, resumes or terminates the workflow (path parameters `id` and
/// `action`; the admin API's call).
pub fn workflow_admin<W: WorkflowComponent>(
    instance: Arc<dyn Any + Send + Sync>,
    invocation: Invocation,
    client: ComponentClient,
) -> BoxFuture<'static, HandlerOutcome> {
    let runtime = downcast::<WorkflowRuntime<W>>(instance);
    let id = invocation.path_param::<String>("id", "String");
    let action = invocation.path_param::<String>("action", "String");
    Box::pin(async move {
        let (id, action) = match (id, action) {
            (Ok(id), Ok(action)) => (id, action),
            (Err(error), _) | (_, Err(error)) => return HandlerOutcome::error(error),
        };
        let Some(action) = crate::host::workflow::AdminAction::parse(&action) else {
            return HandlerOutcome::error(crate::CallError::new(
                crate::ErrorCode::NOT_FOUND,
                format!("no workflow action '{action}': suspend, resume or terminate"),
            ));
        };
        runtime.administer(id, action, client).await
    })
}

/// Runs `handle` on the workflow id an internal call names.
fn on_workflow<W: WorkflowComponent, Run: Future<Output = HandlerOutcome> + Send + 'static>(
    invocation: Invocation,
    handle: impl FnOnce(String) -> Run + Send + 'static,
) -> BoxFuture<'static, HandlerOutcome> {
    let id = invocation.path_param::<String>(W::ID_PARAM, "String");
    Box::pin(async move {
        match id {
            Ok(id) => handle(id).await,
            Err(error) => HandlerOutcome::error(error),
        }
    })
}

/// A step's input, read from the JSON its transition stored.
pub fn step_input<T: BodyType>(step: &str, input: JsonValue) -> Result<T, crate::CallError> {
    serde_json::from_value(input).map_err(|error| {
        crate::CallError::new(
            crate::ErrorCode::INTERNAL_SERVER_ERROR,
            format!("the input of step '{step}' cannot be read: {error}"),
        )
    })
}

/// How a step takes the workflow's state: `Option<&State>`, or `&State` (a step that needs one;
/// it fails when the workflow has none).
pub trait StepState<'a, S>: Sized {
    /// The parameter from the state, if any.
    fn from_state(state: Option<&'a S>, step: &str) -> Result<Self, crate::CallError>;
}

impl<'a, S> StepState<'a, S> for Option<&'a S> {
    fn from_state(state: Option<&'a S>, _: &str) -> Result<Self, crate::CallError> {
        Ok(state)
    }
}

impl<'a, S> StepState<'a, S> for &'a S {
    fn from_state(state: Option<&'a S>, step: &str) -> Result<Self, crate::CallError> {
        state.ok_or_else(|| {
            crate::CallError::new(
                crate::ErrorCode::INTERNAL_SERVER_ERROR,
                format!("step '{step}' takes the workflow's state, and the workflow has none yet"),
            )
        })
    }
}
