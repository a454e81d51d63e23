//! Workflows in the entity host: what is kept of one is its [`Record`] (a state row), commands
//! run one at a time per id as any entity's do, and steps run beside them.
//!
//! A transition that makes the workflow run a step stores its watchdog timer (due when a step
//! that stopped without its process noticing should be taken over) in the record's own
//! transaction (`StateWrite::timers`), then runs the step in this process. While the step runs
//! the watchdog is pushed forward. A step's result is applied only if the record is still at
//! the transition that started it (`run`),
//! and the write is version-checked, so on a shared store a result applies once. If the process
//! dies, the watchdog falls due and whichever process fires it resumes the step it finds in the
//! record. The watchdog's call names only the workflow, so any watchdog of a workflow resumes
//! whatever step it is at.
//!
//! A failed step that its recovery retries is retried by the process that ran it without a
//! write of the record: the attempt count and the backoff are kept in memory, and the watchdog
//! is set past the backoff once instead of being renewed through it. So a workflow retrying a
//! failing call forever costs one timer write per attempt, not a record; after a crash its
//! retries count again from the record's last transition. Steps run (and commit their result)
//! under the service's `max_running_steps` permits, shared by every workflow type: background
//! retries cannot take more of the store than that, and commands, which take no permit, keep
//! theirs. A repeated failure is logged once per interval with a count, not per attempt.
//!
//! Here: the kind and its commands; `steps.rs` runs the steps; `watchdog.rs` has the runtime's
//! timers of a workflow (its watchdog and its timeout) and what they do when they fire.
//!
//! ## Workflows (how it works, and why)
//!
//! **Record.** A workflow is a state row (its `type_id`, its id) holding a `Record`: the user's
//! state (none until the first update), where it is (`not-started`, `running` a step with its input
//! and attempt, `paused`, `ended`), `run` (the count of transitions) and the workflow timeout's
//! deadline (or what is left of it while paused). Commands run through the entity host like any
//! entity's, one at a time per id; `Record::transition`, `fail` (retries, failover, backoff) and
//! `time_out` are pure and shared by the runtime and the tests.
//!
//! **Steps run beside commands.** A commit that enters a step starts the step on a task of its own
//! in the same process (`drive`), outside the entity's lock: commands keep being answered while it
//! runs. The step's result is applied as a command: only if the record is still at the `run` that
//! started it (a command's transition wins; the step's result is dropped), and with the version
//! check every write has, so on a shared store a result applies once. A step's timeout and a
//! backoff are read on the service's clock, so tests move them by hand.
//!
//! **Retries in memory, steps under permits.** A failed step that its recovery retries writes
//! nothing: the driving process keeps the attempt and the backoff (`Retry`) and runs the step again
//! under the same `run`, still marked active so a firing watchdog does not start a second driver;
//! before a backoff it sets the watchdog past it once and stops renewing it. Only a failover or a
//! stop (retries spent) is a write. A retry forever costs one timer write per attempt, and after a
//! crash the attempts count again from the stored record. Every step run and the commit of its
//! result take a permit of one semaphore per service (`KALIX_WORKFLOW_MAX_RUNNING_STEPS`, in
//! `ComponentEnv::step_slots`); commands take none, so background retries cannot crowd them out of
//! the group commit. The testkit's observer is shown each in-memory retry as the record would be.
//!
//! **Watchdog.** A commit that enters a step from a workflow that was not running stores the workflow's watchdog timer (`kalix.workflow/<type>/<id>`) in the
//! same transaction as the record (`StateWrite::timers`, group-committed like any write), due 6 s
//! later, whose call is the workflow's internal `__kalix_resume` handler. The process
//! running the workflow's steps pushes it forward every 2 s. If the process dies, the watchdog falls
//! due and the timer driver of whichever process claims it calls `resume`: it finds the step the
//! record is at, re-arms the watchdog and runs the step (at least once). On SQLite that is the
//! restarted process, which brings every watchdog forward as it starts (`Store::hasten_timers`: the
//! process that kept them ahead is gone), so its workflows resume at once; on PostgreSQL another
//! process takes over within 6 s plus its 100 ms poll.
//! A running step therefore never lacks a watchdog, whatever moment the process dies. A watchdog is never cancelled: a
//! cancel that lands late could remove the one a later transition stored. A paused or finished
//! workflow's watchdog fires once and finds nothing running. Delivery is at least once: a live
//! process that cannot renew its watchdog for 6 s (a stalled database) may see another process run
//! the same step; the record's version check applies one result.
//!
//! **Workflow timeout.** Entering a step with a timeout configured sets a deadline and stores (in
//! the same transaction) the timer `kalix.workflow-timeout/<type>/<id>@<deadline>` calling `__kalix_time_out`; pausing keeps
//! what is left and cancels the timer, resuming sets a new deadline (a new name, so a late cancel of
//! the old one cannot remove it). When it fires and is still due, the workflow runs the timeout's
//! failover step (with its retries, never failing over or timing out again) or ends.
//!
//! **Suspension.** The admin API suspends, resumes or terminates a workflow through the
//! internal `__kalix_admin` handler, as a command (`administer`). Suspending sets
//! `Record::suspended` and moves `run` on, so a step in flight is fenced off; `running()` then
//! names no step, so neither a driver nor a firing watchdog runs one, and no watchdog is armed.
//! Resuming clears it and moves `run` on again: the write arms the watchdog and this process
//! drives the step. The workflow timeout's remainder is kept while suspended, as while paused.
//!
//! **Testkit hooks.** `Service::route_calls` lets a router answer component calls before the
//! dispatcher (the calls handlers make through a component client, not HTTP requests), and
//! `Service::observe_workflows` shows each committed record. `WorkflowTestKit` uses both to run a
//! workflow on the real engine with stubbed calls and a log of its transitions.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde::Serialize;

use super::entity::{Decision, EntityHost, EntityKind, Persist, StoredPosition};
use crate::call::Call;
use crate::client::ComponentClient;
use crate::error::CallError;
use crate::log_limit::LogLimit;
use crate::metadata::Metadata;
use crate::outcome::{Answer, HandlerOutcome};
use crate::status::ErrorCode;
use crate::store::{StateWrite, Store, TimerRecord};
use crate::timers::{Clock, Timers};
use crate::workflow::{
    Effect, Position, Record, Recovered, Settings, StepContext, StepResult, TimerChange,
    WorkflowComponent, WorkflowContext, WorkflowObserver,
};

mod steps;
mod watchdog;

pub(crate) use watchdog::resume_watchdogs;
use watchdog::{Renewal, arm_watchdog, internal_timer, timeout_name, watchdog_name};

/// How far ahead of now the watchdog of a running step is kept: a step whose process died is
/// taken over this long after its last renewal at most.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(6);
/// How often the watchdog of a running step is pushed forward.
const RENEW_EVERY: Duration = Duration::from_secs(2);
/// The internal method a watchdog calls.
pub const RESUME: &str = "__kalix_resume";
/// The internal method the workflow timeout calls.
pub const TIME_OUT: &str = "__kalix_time_out";
/// The internal method the admin API calls to suspend, resume or terminate a workflow (path
/// parameters `id` and `action`).
pub const ADMIN: &str = "__kalix_admin";

/// What an operator does to a workflow through the admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminAction {
    /// No step runs until it is resumed; durable.
    Suspend,
    /// Its step runs again.
    Resume,
    /// It ends at once, without running a step or compensation.
    Terminate,
}

impl AdminAction {
    /// The action named in the admin API's path: `suspend`, `resume`, `terminate`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "suspend" => Some(Self::Suspend),
            "resume" => Some(Self::Resume),
            "terminate" => Some(Self::Terminate),
            _ => None,
        }
    }

    /// Its name in the admin API's path.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Terminate => "terminate",
        }
    }
}

/// A workflow type at run time.
pub type WorkflowRuntime<W> = EntityHost<WorkflowRow<W>>;

/// The workflow kind: the user's component, its settings, and the steps this process runs.
pub struct WorkflowRow<W: WorkflowComponent> {
    workflow: W,
    settings: Settings<W>,
    clock: Arc<dyn Clock>,
    timers: Timers,
    /// Workflow id -> the `run` of the step this process is running for it.
    active: Mutex<HashMap<String, u64>>,
    /// `kalix_workflows_running`: how many `active` holds.
    running: metrics::Gauge,
    /// Shown each committed record (the workflow testkit's log).
    observer: Option<WorkflowObserver>,
    /// Permits for steps running at once (the service's, shared by every workflow type).
    step_slots: Arc<tokio::sync::Semaphore>,
    /// Runs every step twice, the first result dropped (a testkit's mode).
    steps_twice: bool,
}

impl<W: WorkflowComponent> WorkflowRow<W> {
    /// The kind around `workflow`.
    pub fn new(
        workflow: W,
        clock: Arc<dyn Clock>,
        timers: Timers,
        observer: Option<WorkflowObserver>,
        step_slots: Arc<tokio::sync::Semaphore>,
    ) -> Self {
        Self {
            workflow,
            settings: W::settings(),
            clock,
            timers,
            active: Mutex::new(HashMap::new()),
            running: metrics::gauge!(
                crate::telemetry::names::WORKFLOWS_RUNNING,
                "workflow" => W::COMPONENT_ID
            ),
            observer,
            step_slots,
            steps_twice: false,
        }
    }

    /// The kind running every step twice when `twice`: the first result is dropped, as if the
    /// process had died before the step's transition committed.
    pub fn run_steps_twice(mut self, twice: bool) -> Self {
        self.steps_twice = twice;
        self
    }
}

impl<W: WorkflowComponent> EntityKind for WorkflowRow<W> {
    const TYPE_ID: &'static str = W::TYPE_ID;
    const COMPONENT_ID: &'static str = W::COMPONENT_ID;
    type Memory = Record<W::State>;

    async fn load(
        &self,
        store: &dyn Store,
        entity_id: &str,
    ) -> Result<(Record<W::State>, u64), CallError> {
        let stored = store
            .load(W::TYPE_ID, entity_id)
            .await
            .map_err(|error| super::load_failed(W::TYPE_ID, entity_id, "the workflow", &error))?;
        let Some(stored) = stored else {
            return Ok((Record::default(), 0));
        };
        let record = match stored.payload {
            None => Record::default(),
            Some(json) => serde_json::from_slice(&json).map_err(|error| {
                super::unreadable(W::TYPE_ID, entity_id, "the stored workflow", &error)
            })?,
        };
        Ok((record, stored.version))
    }

    fn stored_position(store: &dyn Store, entity_id: &str) -> StoredPosition {
        store.state_version(W::TYPE_ID, entity_id)
    }
}

/// Names a workflow in messages.
fn described<W: WorkflowComponent>(workflow_id: &str) -> String {
    format!("workflow {} '{workflow_id}'", W::TYPE_ID)
}

/// What a committed change leads to: what follows it here, and the record as written (for an
/// observer, such as the workflow testkit's).
#[derive(Clone, Default)]
struct Committed {
    after: After,
    record: Option<Bytes>,
    /// The workflow timeout timer the change made obsolete, to cancel.
    obsolete_timeout: Option<String>,
}

/// What follows a committed change, in this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum After {
    #[default]
    Nothing,
    RunStep,
    /// The step failed and runs again, with nothing written: attempt and backoff in memory.
    Retry(Retry),
}

/// A retry this process keeps in memory: of the step entered by transition `run`, its attempt
/// and when it may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Retry {
    run: u64,
    attempt: u32,
    not_before_ms: Option<u64>,
}

/// Repeated step failures are logged once per interval, with how many were left out.
static STEP_RETRIES_LOGGED: LogLimit = LogLimit::per(Duration::from_secs(10));

impl<W: WorkflowComponent> EntityHost<WorkflowRow<W>> {
    /// Runs one command on workflow `workflow_id`.
    pub async fn command<R: Serialize + Send + 'static>(
        self: &Arc<Self>,
        workflow_id: String,
        metadata: Metadata,
        client: ComponentClient,
        handler: impl FnOnce(&W, Option<&W::State>, &WorkflowContext) -> Effect<W, W::State, R>,
    ) -> HandlerOutcome {
        let key = metadata.command_key().cloned();
        let context = WorkflowContext::new(workflow_id.clone(), metadata, client.clone());
        let after = Arc::new(Mutex::new(Committed::default()));
        let decided = Arc::clone(&after);
        let outcome = self
            .run_keyed_command(&workflow_id, key.as_deref(), |kind, record, version| {
                let effect = handler(&kind.workflow, record.state.as_ref(), &context);
                let (change, answer) = effect.into_parts();
                let Some(transition) = change else {
                    // With a key, the command's timers are carried out before its reply is kept
                    // (a repeat gets the reply and must find them done); without, after.
                    let keeps_reply = key.is_some() && matches!(answer, Answer::Reply(..));
                    let before_commit = keeps_reply
                        .then(|| context.take_timer_changes())
                        .filter(|changes| !changes.is_empty())
                        .map(|changes| {
                            let timers = kind.timers.clone();
                            Box::pin(async move { carry_out(&timers, changes).await }) as _
                        });
                    return Ok(Decision {
                        persist: None,
                        answer,
                        side_effects: Vec::new(),
                        before_commit,
                    });
                };
                let timer_changes = context.take_timer_changes();
                let mut next = record.clone();
                let now = kind.clock.now_ms();
                let described = described::<W>(&workflow_id);
                if let Err(refused) =
                    next.transition(transition, &kind.settings, W::STEPS, now, &described)
                {
                    return Ok(Decision {
                        persist: None,
                        answer: Answer::Error(refused),
                        side_effects: Vec::new(),
                        before_commit: None,
                    });
                }
                let (persist, then) = kind.persist(&workflow_id, record, next, version)?;
                *decided.lock().unwrap_or_else(|p| p.into_inner()) = then;
                // The command's own timers, before its transition is committed.
                let timers = kind.timers.clone();
                let before_commit: Option<BoxFuture<'static, Result<(), CallError>>> =
                    (!timer_changes.is_empty()).then(|| {
                        Box::pin(async move { carry_out(&timers, timer_changes).await }) as _
                    });
                Ok(Decision {
                    persist: Some(persist),
                    answer,
                    side_effects: Vec::new(),
                    before_commit,
                })
            })
            .await;
        // A repeat answered with its kept reply changed nothing here: no step to drive.
        if outcome.is_failure() || outcome.is_replayed() {
            return outcome;
        }
        // A command that made no transition: its timer changes, before its reply.
        let changes = context.take_timer_changes();
        if let Err(error) = carry_out(&self.kind().timers, changes).await {
            return HandlerOutcome::error(error);
        }
        let then = after.lock().unwrap_or_else(|p| p.into_inner()).clone();
        self.after_commit(workflow_id, then, client);
        outcome
    }

    /// What a committed change leads to here: the step it entered runs, and a workflow timeout
    /// it made obsolete (paused, ended, timed out) is cancelled.
    fn after_commit(
        self: &Arc<Self>,
        workflow_id: String,
        then: Committed,
        client: ComponentClient,
    ) {
        self.observe(&workflow_id, &then);
        if let Some(name) = then.obsolete_timeout {
            let timers = self.kind().timers.clone();
            tokio::spawn(async move {
                if let Err(error) = timers.cancel(name).await {
                    tracing::debug!(%error, "cancelling an obsolete workflow timeout failed; it will find nothing to do");
                }
            });
        }
        if then.after == After::RunStep {
            let host = Arc::clone(self);
            // Its steps continue the trace of the command that moved it on.
            let drive = async move { host.drive(workflow_id, client).await };
            tokio::spawn(tracing::Instrument::in_current_span(drive));
        }
    }

    /// Shows a committed record to the observer, if there is one.
    fn observe(&self, workflow_id: &str, committed: &Committed) {
        if let (Some(observer), Some(record)) = (&self.kind().observer, &committed.record) {
            observer(W::TYPE_ID, workflow_id, record);
        }
    }
}

impl<W: WorkflowComponent> WorkflowRow<W> {
    /// This process no longer runs the step of `run` of the workflow.
    fn release(&self, workflow_id: &str, run: u64) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if active.get(workflow_id) == Some(&run) {
            active.remove(workflow_id);
            self.running.set(active.len() as f64);
        }
    }

    /// The write of `next` over `current` (at `version`), what must be durable before it (the
    /// The write of `next` over `current` (at `version`), with the timers that must be durable
    /// exactly when it is (the watchdog of a step it enters, the workflow timeout it sets), and
    /// what follows it.
    fn persist(
        &self,
        workflow_id: &str,
        current: &mut Record<W::State>,
        next: Record<W::State>,
        version: u64,
    ) -> Result<(Persist, Committed), CallError> {
        let payload = serde_json::to_vec(&next)
            .map(Bytes::from)
            .map_err(|error| {
                CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "the new state of {} cannot be serialized: {error}",
                        described::<W>(workflow_id)
                    ),
                )
            })?;
        let now = self.clock.now_ms();
        // A workflow already running has its watchdog, kept ahead by whoever runs its step; a
        // backoff pushes it past the retry.
        // A suspended workflow runs no step: it has no watchdog to keep, and gets one again
        // when it is resumed.
        let was_running = current.running().is_some();
        let watchdog_due = match &next.position {
            _ if next.suspended => None,
            Position::Running {
                not_before_ms: Some(not_before),
                ..
            } => Some((*not_before).max(now)),
            Position::Running { .. } if !was_running => Some(now),
            _ => None,
        };
        let mut timers = Vec::new();
        if let Some(due) = watchdog_due {
            let due = due.saturating_add(WATCHDOG.as_millis() as u64);
            timers.push(internal_timer::<W>(
                watchdog_name::<W>(workflow_id),
                RESUME,
                workflow_id,
                due,
            ));
        }
        if let Some(deadline) = next.deadline_ms.filter(|d| current.deadline_ms != Some(*d)) {
            let name = timeout_name::<W>(workflow_id, deadline);
            timers.push(internal_timer::<W>(name, TIME_OUT, workflow_id, deadline));
        }
        let persist = Persist {
            write: StateWrite {
                type_id: W::TYPE_ID.to_owned(),
                entity_id: workflow_id.to_owned(),
                expected_version: version,
                follows_own_write: false,
                payload: Some(payload.clone()),
                timers,
                kept_reply: None,
                trace_parent: None,
            }
            .into(),
            position: version + 1,
        };
        let after = match &next.position {
            _ if next.suspended => After::Nothing,
            Position::Running { .. } => After::RunStep,
            Position::Paused | Position::Ended | Position::NotStarted => After::Nothing,
        };
        let obsolete_timeout = current
            .deadline_ms
            .filter(|old| next.deadline_ms != Some(*old))
            .map(|old| timeout_name::<W>(workflow_id, old));
        *current = next;
        let committed = Committed {
            after,
            record: Some(payload),
            obsolete_timeout,
        };
        Ok((persist, committed))
    }
}

/// A decision that changes nothing (an internal call with nothing to do).
fn unchanged() -> Decision<()> {
    Decision {
        persist: None,
        answer: Answer::Reply((), Metadata::new()),
        side_effects: Vec::new(),
        before_commit: None,
    }
}

/// The decision of an internal call (a step's result, the timeout) that writes `persist`.
fn internal_write(persist: Persist) -> Decision<()> {
    Decision {
        persist: Some(persist),
        ..unchanged()
    }
}

/// Carries out the timer changes a command recorded.
async fn carry_out(timers: &Timers, changes: Vec<TimerChange>) -> Result<(), CallError> {
    for change in changes {
        match change {
            TimerChange::Start {
                name,
                delay,
                call,
                max_retries,
            } => {
                timers
                    .start_user_call(name, delay, call, max_retries)
                    .await?
            }
            TimerChange::Cancel(name) => timers.cancel(name).await?,
            TimerChange::Refused(defect) => return Err(defect),
        }
    }
    Ok(())
}
