//! The trait `#[workflow]` implements.

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Settings, StepContext, StepResult};
use crate::client::ComponentClient;

/// Implemented by `#[workflow]` for the type of the `impl` block. You never implement it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a workflow",
    label = "not a workflow",
    note = "put `#[workflow(type_id = \"..\", id = \"..\")]` on an `impl {Self}` block"
)]
pub trait WorkflowComponent: Send + Sync + Sized + 'static {
    /// The component id: the module of the `impl` block and the type's name.
    const COMPONENT_ID: &'static str;
    /// The storage namespace; changing it starts every workflow afresh.
    const TYPE_ID: &'static str;
    /// The path parameter that carries the workflow id.
    const ID_PARAM: &'static str;
    /// The names of its steps.
    const STEPS: &'static [&'static str];
    /// The state (none until the first `update_state`).
    type State: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;
    /// The generated client, with one method per command handler.
    type Client;
    /// The client of the workflow `workflow_id`.
    fn client(client: ComponentClient, workflow_id: String) -> Self::Client;
    /// Its timeouts and recovery strategies (the `#[settings]` method, or the defaults).
    fn settings() -> Settings<Self>;
    /// Runs step `step` with its input as JSON: `None` if there is no such step.
    fn run_step<'a>(
        &'a self,
        step: &str,
        input: serde_json::Value,
        state: Option<&'a Self::State>,
        ctx: &'a StepContext,
    ) -> Option<BoxFuture<'a, StepResult<Self, Self::State>>>;
}
