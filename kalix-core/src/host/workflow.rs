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

/// How far ahead of now the watchdog of a running step is kept: a step whose process died is
/// taken over this long after its last renewal at most.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(6);
/// How often the watchdog of a running step is pushed forward.
const RENEW_EVERY: Duration = Duration::from_secs(2);
/// The internal method a watchdog calls.
pub const RESUME: &str = "__kalix_resume";
/// The internal method the workflow timeout calls.
pub const TIME_OUT: &str = "__kalix_time_out";

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

/// The name of a workflow's timer: `kalix.<prefix>/<type id>/<id>`. Long ids are hashed (FNV-1a,
/// stable across builds and processes): the name only has to be one per workflow, as the call
/// carries the id.
fn timer_name(prefix: &str, type_id: &str, workflow_id: &str) -> String {
    if workflow_id.len() + type_id.len() <= 200 {
        return format!("kalix.{prefix}/{type_id}/{workflow_id}");
    }
    let hash = crate::fingerprint::fingerprint(workflow_id.as_bytes());
    format!(
        "kalix.{prefix}/{type_id}/#{hash:016x}-{}",
        workflow_id.len()
    )
}

/// What every watchdog's name starts with.
pub(crate) const WATCHDOG_PREFIX: &str = "kalix.workflow/";

/// The watchdog's name: one per workflow. It is never cancelled (a cancel landing late could
/// remove the one a later transition stored); a workflow that stopped running finds nothing to
/// do when it fires.
fn watchdog_name<W: WorkflowComponent>(workflow_id: &str) -> String {
    timer_name("workflow", W::TYPE_ID, workflow_id)
}

/// The name of the workflow timeout's timer for `deadline_ms`: a new deadline is a new name,
/// so cancelling an old one never removes a newer one.
fn timeout_name<W: WorkflowComponent>(workflow_id: &str, deadline_ms: u64) -> String {
    format!(
        "{}@{deadline_ms}",
        timer_name("workflow-timeout", W::TYPE_ID, workflow_id)
    )
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
        let context = WorkflowContext::new(workflow_id.clone(), metadata, client.clone());
        let after = Arc::new(Mutex::new(Committed::default()));
        let decided = Arc::clone(&after);
        let outcome = self
            .run_command(&workflow_id, |kind, record, version| {
                let effect = handler(&kind.workflow, record.state.as_ref(), &context);
                let (change, answer) = effect.into_parts();
                let Some(transition) = change else {
                    return Ok(Decision {
                        persist: None,
                        answer,
                        side_effects: Vec::new(),
                        before_commit: None,
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
        if outcome.is_failure() {
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
            tokio::spawn(async move { host.drive(workflow_id, client).await });
        }
    }

    /// Shows a committed record to the observer, if there is one.
    fn observe(&self, workflow_id: &str, committed: &Committed) {
        if let (Some(observer), Some(record)) = (&self.kind().observer, &committed.record) {
            observer(W::TYPE_ID, workflow_id, record);
        }
    }

    /// Runs the steps of workflow `workflow_id` from where its record is, as long as this
    /// process makes its transitions.
    async fn drive(self: Arc<Self>, workflow_id: String, client: ComponentClient) {
        // Kept ahead while this process drives the workflow, across its steps.
        let mut renewal = Renewal(None);
        let mut retry: Option<Retry> = None;
        loop {
            let found = self
                .inspect(&workflow_id, |record| {
                    record.running().map(|(step, input, attempt)| {
                        let not_before = match &record.position {
                            Position::Running { not_before_ms, .. } => *not_before_ms,
                            _ => None,
                        };
                        (
                            record.run,
                            step.to_owned(),
                            input.clone(),
                            attempt,
                            not_before,
                            record.state.clone(),
                        )
                    })
                })
                .await;
            let kind = self.kind();
            let Ok(Some((run, step, input, attempt, not_before, state))) = found else {
                if let Some(retry) = retry {
                    kind.release(&workflow_id, retry.run);
                }
                return;
            };
            // A retry made here goes on from its own attempt and backoff, still marked active.
            let (attempt, not_before) = match retry.take() {
                Some(retry) if retry.run == run => (retry.attempt, retry.not_before_ms),
                other => {
                    if let Some(stale) = other {
                        kind.release(&workflow_id, stale.run);
                    }
                    let mut active = kind.active.lock().unwrap_or_else(|p| p.into_inner());
                    if active.get(&workflow_id) == Some(&run) {
                        return;
                    }
                    active.insert(workflow_id.clone(), run);
                    (attempt, not_before)
                }
            };
            if let Some(not_before) = not_before {
                // The watchdog is set past the backoff once, not renewed through it.
                if let Some(task) = renewal.0.take() {
                    task.abort();
                }
                let wait = not_before.saturating_sub(kind.clock.now_ms());
                let armed =
                    arm_watchdog::<W>(&kind.timers, &workflow_id, Duration::from_millis(wait));
                if let Err(error) = armed.await {
                    tracing::warn!(%error, "setting a workflow's watchdog past its backoff failed");
                }
                sleep_until(&*kind.clock, not_before).await;
                // A command may have moved the workflow on during the backoff.
                let still = self.inspect(&workflow_id, |record| record.run == run).await;
                if !matches!(still, Ok(true)) {
                    kind.release(&workflow_id, run);
                    return;
                }
            }
            if renewal.0.is_none() {
                renewal.0 = Some(self.renew_watchdog(&workflow_id));
            }
            // The step and the commit of its result take one of the service's step permits.
            let Ok(permit) = kind.step_slots.acquire().await else {
                kind.release(&workflow_id, run);
                return;
            };
            let context =
                StepContext::new(workflow_id.clone(), step.clone(), attempt, client.clone());
            if kind.steps_twice {
                let dropped = self
                    .run_step(&step, input.clone(), state.as_ref(), &context)
                    .await;
                tracing::debug!(workflow = %described::<W>(&workflow_id), step, succeeded = dropped.is_ok(), "the step's first run is dropped, as if its process died before its transition");
            }
            let result = self.run_step(&step, input, state.as_ref(), &context).await;
            let committed = self
                .apply_step(&workflow_id, run, attempt, &step, result)
                .await;
            drop(permit);
            match committed.after {
                // Still this process's: not released, so a watchdog firing now finds it active.
                After::Retry(next) => retry = Some(next),
                After::RunStep => kind.release(&workflow_id, run),
                After::Nothing => {
                    kind.release(&workflow_id, run);
                    drop(renewal);
                    self.after_commit(workflow_id, committed, client);
                    return;
                }
            }
            self.observe(&workflow_id, &committed);
        }
    }

    /// Runs step `step` within its timeout: its transition, or why it failed.
    async fn run_step(
        &self,
        step: &str,
        input: serde_json::Value,
        state: Option<&W::State>,
        context: &StepContext,
    ) -> StepResult<W, W::State> {
        let kind = self.kind();
        let timeout = kind.settings.step_timeout_of(step);
        let Some(future) = kind.workflow.run_step(step, input, state, context) else {
            return Err(CallError::new(
                ErrorCode::INTERNAL_SERVER_ERROR,
                format!(
                    "{} has no step '{step}'",
                    described::<W>(context.workflow_id())
                ),
            ));
        };
        let due = kind
            .clock
            .now_ms()
            .saturating_add(timeout.as_millis() as u64);
        let guarded = AssertUnwindSafe(future).catch_unwind();
        tokio::select! {
            result = guarded => match result {
                Ok(result) => result,
                Err(panic) => Err(crate::outcome::panic_error(
                    W::COMPONENT_ID,
                    context.workflow_id(),
                    panic.as_ref(),
                )),
            },
            () = sleep_until(&*kind.clock, due) => Err(CallError::new(
                ErrorCode::GATEWAY_TIMEOUT,
                format!("step '{step}' did not finish within {timeout:?}"),
            )),
        }
    }

    /// Applies a step's result to the workflow, if it is still at the transition that started
    /// the step: the next transition, or the step's recovery. A retry (of attempt `attempt`,
    /// which may be ahead of the record's) writes nothing: it comes back as [`After::Retry`].
    async fn apply_step(
        self: &Arc<Self>,
        workflow_id: &str,
        run: u64,
        attempt: u32,
        step: &str,
        result: StepResult<W, W::State>,
    ) -> Committed {
        let after = Arc::new(Mutex::new(Committed::default()));
        let decided = Arc::clone(&after);
        let outcome = self
            .run_command(workflow_id, |kind, record, version| {
                if record.run != run || record.running().is_none() {
                    tracing::debug!(workflow = %described::<W>(workflow_id), step, "a command moved the workflow on while its step ran; the step's result is dropped");
                    return Ok(unchanged());
                }
                let mut next = record.clone();
                let now = kind.clock.now_ms();
                let described = described::<W>(workflow_id);
                let failure = match result {
                    Ok(transition) => next
                        .transition(transition, &kind.settings, W::STEPS, now, &described)
                        .err(),
                    Err(error) => Some(error),
                };
                if let Some(error) = failure {
                    next = record.clone();
                    if let Position::Running { attempt: stored, .. } = &mut next.position {
                        *stored = attempt;
                    }
                    match next.fail(&kind.settings, now, backoff) {
                        Recovered::Retry(attempt) => {
                            if let Some(left_out) = STEP_RETRIES_LOGGED.admit() {
                                tracing::warn!(workflow = %described, step, attempt, %error, left_out, "workflow step failed; running it again (left_out: retries of any workflow not logged since the last such line)");
                            }
                            let Position::Running { not_before_ms, .. } = next.position else {
                                unreachable!("a retried step is running");
                            };
                            // Shown as it would be, at the transition that is still stored.
                            next.run = record.run;
                            let shown = serde_json::to_vec(&next).ok().map(Bytes::from);
                            *decided.lock().unwrap_or_else(|p| p.into_inner()) = Committed {
                                after: After::Retry(Retry {
                                    run,
                                    attempt,
                                    not_before_ms,
                                }),
                                record: shown,
                                obsolete_timeout: None,
                            };
                            return Ok(unchanged());
                        }
                        Recovered::FailedOver(to) => {
                            tracing::warn!(workflow = %described, step, failover = %to, %error, "workflow step failed; failing over");
                        }
                        Recovered::Stopped => {
                            tracing::error!(workflow = %described, step, %error, "workflow step failed and its recovery is spent; the workflow is paused until a command moves it on");
                        }
                    }
                }
                let (persist, then) = kind.persist(workflow_id, record, next, version)?;
                *decided.lock().unwrap_or_else(|p| p.into_inner()) = then;
                Ok(internal_write(persist))
            })
            .await;
        if outcome.is_failure() {
            // Another process moved the workflow, or the store failed: the watchdog resumes
            // whatever the record says.
            return Committed::default();
        }
        after.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Keeps the workflow's watchdog ahead of now while its step runs here.
    fn renew_watchdog(&self, workflow_id: &str) -> tokio::task::JoinHandle<()> {
        let timers = self.kind().timers.clone();
        let workflow_id = workflow_id.to_owned();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(RENEW_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(error) = arm_watchdog::<W>(&timers, &workflow_id, Duration::ZERO).await {
                    tracing::warn!(%error, "renewing a workflow's watchdog failed");
                }
            }
        })
    }

    /// A watchdog fired: resume the workflow's step unless this process runs it.
    pub async fn resume(
        self: &Arc<Self>,
        workflow_id: String,
        client: ComponentClient,
    ) -> HandlerOutcome {
        if let Err(bad_id) = super::entity_id::check(W::TYPE_ID, &workflow_id) {
            return HandlerOutcome::error(bad_id);
        }
        let kind = self.kind();
        let running_here = kind
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&workflow_id);
        let running = match self
            .inspect(&workflow_id, |record| record.running().is_some())
            .await
        {
            Ok(running) => running,
            Err(error) => return HandlerOutcome::error(error),
        };
        if !running {
            return super::answered(Answer::Reply((), Metadata::new()), Vec::new());
        }
        // Re-armed before this call returns: the fired timer is removed once it does.
        if let Err(error) = arm_watchdog::<W>(&kind.timers, &workflow_id, Duration::ZERO).await {
            return HandlerOutcome::error(error);
        }
        if !running_here {
            tracing::info!(workflow = %described::<W>(&workflow_id), "resuming a workflow step");
            let host = Arc::clone(self);
            tokio::spawn(async move { host.drive(workflow_id, client).await });
        }
        super::answered(Answer::Reply((), Metadata::new()), Vec::new())
    }

    /// The workflow timeout fired: fail over (or end) if it is still due.
    pub async fn time_out(
        self: &Arc<Self>,
        workflow_id: String,
        client: ComponentClient,
    ) -> HandlerOutcome {
        let after = Arc::new(Mutex::new(Committed::default()));
        let decided = Arc::clone(&after);
        let outcome = self
            .run_command(&workflow_id, |kind, record, version| {
                let mut next = record.clone();
                if !next.time_out(&kind.settings, kind.clock.now_ms()) {
                    return Ok(unchanged());
                }
                tracing::warn!(workflow = %described::<W>(&workflow_id), "the workflow timed out");
                let (persist, then) = kind.persist(&workflow_id, record, next, version)?;
                *decided.lock().unwrap_or_else(|p| p.into_inner()) = then;
                Ok(internal_write(persist))
            })
            .await;
        if !outcome.is_failure() {
            let then = after.lock().unwrap_or_else(|p| p.into_inner()).clone();
            self.after_commit(workflow_id, then, client);
        }
        outcome
    }
}

impl<W: WorkflowComponent> WorkflowRow<W> {
    /// This process no longer runs the step of `run` of the workflow.
    fn release(&self, workflow_id: &str, run: u64) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if active.get(workflow_id) == Some(&run) {
            active.remove(workflow_id);
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
        let was_running = matches!(current.position, Position::Running { .. });
        let watchdog_due = match &next.position {
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
            }
            .into(),
            position: version + 1,
        };
        let after = match &next.position {
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

/// A timer of the runtime's calling the workflow's internal `method`, due at `due_ms`.
fn internal_timer<W: WorkflowComponent>(
    name: String,
    method: &'static str,
    workflow_id: &str,
    due_ms: u64,
) -> TimerRecord {
    let call = internal_call::<W>(method, workflow_id);
    TimerRecord {
        name,
        generation: uuid::Uuid::new_v4().to_string(),
        due_ms: due_ms.min(i64::MAX as u64),
        call: Bytes::from(serde_json::to_vec(&call).expect("a call serializes")),
        attempts: 0,
        max_retries: None,
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

/// The task keeping a workflow's watchdog ahead, stopped when dropped.
struct Renewal(Option<tokio::task::JoinHandle<()>>);

impl Drop for Renewal {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Stores (or pushes forward) the workflow's watchdog: due `after` plus [`WATCHDOG`] from now.
async fn arm_watchdog<W: WorkflowComponent>(
    timers: &Timers,
    workflow_id: &str,
    after: Duration,
) -> Result<(), CallError> {
    let name = watchdog_name::<W>(workflow_id);
    let call = internal_call::<W>(RESUME, workflow_id);
    timers.start_call(name, after + WATCHDOG, call, None).await
}

/// A call to one of the workflow's internal methods.
fn internal_call<W: WorkflowComponent>(method: &'static str, workflow_id: &str) -> Call {
    Call::new(W::COMPONENT_ID, method).with_path_param(W::ID_PARAM, workflow_id.to_owned())
}

/// The pause before attempt `attempt` of a step retried until it succeeds: the timers' backoff.
fn backoff(attempt: u32) -> Duration {
    crate::backoff::Backoff::TIMERS.after(attempt)
}

/// Sleeps until `clock` reads `due_ms` (a manual clock's moves wake it).
pub(crate) async fn sleep_until(clock: &dyn Clock, due_ms: u64) {
    loop {
        let moved = clock.moved();
        let now = clock.now_ms();
        if now >= due_ms {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(due_ms - now)) => {}
            () = moved => {}
        }
    }
}
