//! A workflow's runtime timers: its watchdog (due when a step whose process died should be taken
//! over; pushed forward while the step runs here) and its workflow timeout, what they call, and
//! what happens when they fire.

use super::*;

/// The name of a workflow's timer: `kalix.<prefix>/<type id>/<id>`. Long ids are hashed (FNV-1a,
/// stable across builds and processes): the name only has to be one per workflow, as the call
/// carries the id.
pub(super) fn timer_name(prefix: &str, type_id: &str, workflow_id: &str) -> String {
    if workflow_id.len() + type_id.len() <= 200 {
        return format!("kalix.{prefix}/{type_id}/{workflow_id}");
    }
    let hash = crate::fingerprint::fingerprint(workflow_id.as_bytes());
    format!(
        "kalix.{prefix}/{type_id}/#{hash:016x}-{}",
        workflow_id.len()
    )
}

/// At the start of a service whose store one process uses at a time: the process that kept its
/// workflows' watchdogs ahead is gone, so the workflows it ran resume now rather than when their
/// watchdogs fall due. (On a shared store the other processes may still be running them.)
pub(crate) async fn resume_watchdogs(
    store: &Arc<dyn Store>,
    clock: &dyn Clock,
    components: &[&crate::registry::ComponentDescriptor],
) {
    let workflows = components
        .iter()
        .any(|c| c.kind == crate::registry::ComponentKind::Workflow);
    if store.is_shared() || !workflows {
        return;
    }
    if let Err(error) = store.hasten_timers(WATCHDOG_PREFIX, clock.now_ms()).await {
        tracing::warn!(%error, "bringing the workflows' watchdogs forward failed; they resume when they fall due");
    }
}

/// What every watchdog's name starts with.
pub(crate) const WATCHDOG_PREFIX: &str = "kalix.workflow/";

/// The watchdog's name: one per workflow. It is never cancelled (a cancel landing late could
/// remove the one a later transition stored); a workflow that stopped running finds nothing to
/// do when it fires.
pub(super) fn watchdog_name<W: WorkflowComponent>(workflow_id: &str) -> String {
    timer_name("workflow", W::TYPE_ID, workflow_id)
}

/// The name of the workflow timeout's timer for `deadline_ms`: a new deadline is a new name,
/// so cancelling an old one never removes a newer one.
pub(super) fn timeout_name<W: WorkflowComponent>(workflow_id: &str, deadline_ms: u64) -> String {
    format!(
        "{}@{deadline_ms}",
        timer_name("workflow-timeout", W::TYPE_ID, workflow_id)
    )
}

/// A timer of the runtime's calling the workflow's internal `method`, due at `due_ms`.
pub(super) fn internal_timer<W: WorkflowComponent>(
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

/// The task keeping a workflow's watchdog ahead, stopped when dropped.
pub(super) struct Renewal(pub(super) Option<tokio::task::JoinHandle<()>>);

impl Drop for Renewal {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Stores (or pushes forward) the workflow's watchdog: due `after` plus [`WATCHDOG`] from now.
pub(super) async fn arm_watchdog<W: WorkflowComponent>(
    timers: &Timers,
    workflow_id: &str,
    after: Duration,
) -> Result<(), CallError> {
    let name = watchdog_name::<W>(workflow_id);
    let call = internal_call::<W>(RESUME, workflow_id);
    timers.start_call(name, after + WATCHDOG, call, None).await
}

/// A call to one of the workflow's internal methods.
pub(super) fn internal_call<W: WorkflowComponent>(method: &'static str, workflow_id: &str) -> Call {
    Call::new(W::COMPONENT_ID, method).with_path_param(W::ID_PARAM, workflow_id.to_owned())
}

impl<W: WorkflowComponent> EntityHost<WorkflowRow<W>> {
    /// A watchdog fired: resume the workflow's step unless this process runs it.
    pub async fn resume(
        self: &Arc<Self>,
        workflow_id: String,
        client: ComponentClient,
    ) -> HandlerOutcome {
        if let Err(bad_id) = crate::host::entity_id::check(W::TYPE_ID, &workflow_id) {
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
            return crate::host::answered(Answer::Reply((), Metadata::new()), Vec::new());
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
        crate::host::answered(Answer::Reply((), Metadata::new()), Vec::new())
    }

    /// An operator suspends, resumes or terminates the workflow (the admin API), as a command:
    /// one at a time with the workflow's other commands, durable before the reply, logged.
    /// Replies whether it changed anything.
    pub async fn administer(
        self: &Arc<Self>,
        workflow_id: String,
        action: super::AdminAction,
        client: ComponentClient,
    ) -> HandlerOutcome {
        let after = Arc::new(Mutex::new(Committed::default()));
        let decided = Arc::clone(&after);
        let outcome = self
            .run_command(&workflow_id, |kind, record, version| {
                if version == 0 {
                    return Err(CallError::new(
                        ErrorCode::NOT_FOUND,
                        format!("{} was never started", described::<W>(&workflow_id)),
                    ));
                }
                let mut next = record.clone();
                let now = kind.clock.now_ms();
                let described = described::<W>(&workflow_id);
                let changed = match action {
                    super::AdminAction::Suspend => next.suspend(now, &described)?,
                    super::AdminAction::Resume => next.unsuspend(&kind.settings, now),
                    super::AdminAction::Terminate => next.terminate(&kind.settings, now),
                };
                if !changed {
                    return Ok(admin_decision(None, false));
                }
                tracing::warn!(workflow = %described, action = action.as_str(), "an operator changed the workflow through the admin API");
                let (persist, then) = kind.persist(&workflow_id, record, next, version)?;
                *decided.lock().unwrap_or_else(|p| p.into_inner()) = then;
                Ok(admin_decision(Some(persist), true))
            })
            .await;
        if !outcome.is_failure() {
            let then = after.lock().unwrap_or_else(|p| p.into_inner()).clone();
            self.after_commit(workflow_id, then, client);
        }
        outcome
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

/// The decision of an admin action: its write, if it changed anything, and whether it did.
fn admin_decision(persist: Option<Persist>, changed: bool) -> Decision<bool> {
    Decision {
        persist,
        answer: Answer::Reply(changed, Metadata::new()),
        side_effects: Vec::new(),
        before_commit: None,
    }
}
