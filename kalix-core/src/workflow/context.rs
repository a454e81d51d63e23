//! What a workflow's command handlers and steps can see.

use crate::client::ComponentClient;
use crate::metadata::Metadata;
use crate::timers::Timers;

/// The context of one command to a workflow: its id, the metadata, and a client to describe
/// calls (command handlers are synchronous; steps make the calls).
#[derive(Clone, Debug)]
pub struct WorkflowContext {
    workflow_id: String,
    metadata: Metadata,
    client: ComponentClient,
}

impl WorkflowContext {
    /// A context (the runtime and the testkits build these).
    pub fn new(workflow_id: String, metadata: Metadata, client: ComponentClient) -> Self {
        Self {
            workflow_id,
            metadata,
            client,
        }
    }

    /// The id of the workflow handling the command.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The command's metadata (forwarded headers, or what a caller attached).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// A client to describe calls.
    pub fn component_client(&self) -> ComponentClient {
        self.client.clone()
    }
}

/// The context of a running step: the workflow's id, which attempt this is, a client for the
/// calls it makes and the service's timers.
#[derive(Clone, Debug)]
pub struct StepContext {
    workflow_id: String,
    step: String,
    attempt: u32,
    client: ComponentClient,
}

impl StepContext {
    /// A context (the runtime and the testkits build these).
    pub fn new(workflow_id: String, step: String, attempt: u32, client: ComponentClient) -> Self {
        Self {
            workflow_id,
            step,
            attempt,
            client,
        }
    }

    /// The id of the workflow running the step.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The step's name.
    pub fn step_name(&self) -> &str {
        &self.step
    }

    /// 0 the first time the step runs, then 1, 2, .. for each retry (a step runs at least once:
    /// after a crash it runs again with the same attempt number).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A client to call other components: `ctx.component_client().value_entity::<W>(id).m(..).await`.
    pub fn component_client(&self) -> ComponentClient {
        self.client.clone()
    }

    /// The service's durable timers (see [`crate::timers`]).
    pub fn timers(&self) -> Timers {
        self.client.timers()
    }
}
