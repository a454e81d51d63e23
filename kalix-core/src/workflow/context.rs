//! What a workflow's command handlers and steps can see.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::call::Call;
use crate::call::TimerCall;
use crate::client::ComponentClient;
use crate::metadata::Metadata;
use crate::timers::Timers;

/// The context of one command to a workflow: its id, the metadata, a client to describe calls
/// (command handlers are synchronous; steps make the calls), and the timers the command starts
/// or cancels.
#[derive(Clone, Debug)]
pub struct WorkflowContext {
    workflow_id: String,
    metadata: Metadata,
    client: ComponentClient,
    timer_changes: Arc<Mutex<Vec<TimerChange>>>,
}

/// A timer a command starts or cancels, carried out with its effect.
// A start's call is the large variant; a command records a few timers at most.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub(crate) enum TimerChange {
    Start {
        name: String,
        delay: Duration,
        call: Call,
        max_retries: Option<u32>,
    },
    Cancel(String),
    /// A start whose call could not be described: the command fails with this.
    Refused(crate::error::CallError),
}

/// The timers of a command (`ctx.timers()` in a workflow's command handler). A handler is
/// synchronous, so starts and cancels are recorded and carried out with its effect: before its
/// transition is committed (a timer meant for the new state exists once that state does), or
/// before its reply when it makes none. An error effect drops them. Steps, which are `async`,
/// use the service's [`Timers`] directly (`StepContext::timers`).
#[derive(Debug)]
pub struct CommandTimers<'a> {
    changes: &'a Mutex<Vec<TimerChange>>,
}

impl CommandTimers<'_> {
    fn record(&self, change: TimerChange) {
        self.changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(change);
    }

    /// Starts (or replaces) the timer `name`: after `delay`, `call` is made (see
    /// [`Timers::start_single_timer`]).
    pub fn start_single_timer(
        &self,
        name: impl Into<String>,
        delay: Duration,
        call: impl TimerCall,
    ) {
        self.start(name.into(), delay, call, None);
    }

    /// As [`CommandTimers::start_single_timer`], with at most `max_retries` retries of a
    /// failing call.
    pub fn start_single_timer_with_retries(
        &self,
        name: impl Into<String>,
        delay: Duration,
        call: impl TimerCall,
        max_retries: u32,
    ) {
        self.start(name.into(), delay, call, Some(max_retries));
    }

    /// Records a start; a call that could not be described is refused when the effect is
    /// carried out (stored, it would lose its body).
    fn start(&self, name: String, delay: Duration, call: impl TimerCall, max_retries: Option<u32>) {
        self.record(match call.into_call() {
            Ok(call) => TimerChange::Start {
                name,
                delay,
                call,
                max_retries,
            },
            Err(defect) => TimerChange::Refused(defect),
        });
    }

    /// Cancels the timer `name` (nothing to cancel is fine).
    pub fn cancel(&self, name: impl Into<String>) {
        self.record(TimerChange::Cancel(name.into()));
    }
}

impl WorkflowContext {
    /// A context (the runtime and the testkits build these).
    pub fn new(workflow_id: String, metadata: Metadata, client: ComponentClient) -> Self {
        Self {
            workflow_id,
            metadata,
            client,
            timer_changes: Arc::default(),
        }
    }

    /// The timers the command starts or cancels, carried out with its effect.
    pub fn timers(&self) -> CommandTimers<'_> {
        CommandTimers {
            changes: &self.timer_changes,
        }
    }

    /// The timer changes recorded so far, taken.
    pub(crate) fn take_timer_changes(&self) -> Vec<TimerChange> {
        std::mem::take(&mut *self.timer_changes.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The id of the workflow handling the command.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The command's metadata (forwarded headers, or what a caller attached).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Who made the call: the internet, another service (by its verified token), or this
    /// service itself (a component client call, a timer, a subscription, a workflow step).
    pub fn principals(&self) -> &crate::access::Principals {
        self.metadata.principals()
    }

    /// The claims of the call's verified bearer token (empty unless its handler has `#[jwt]`).
    pub fn jwt_claims(&self) -> &crate::access::JwtClaims {
        self.metadata.jwt_claims()
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
