//! The steps of a workflow this process runs: from where its record is, one at a time, each
//! within its timeout and under a running-step permit, its result applied only if the record is
//! still at the transition that started it; a failure its recovery retries is retried here, in
//! memory, with the timers' backoff.

use super::*;

impl<W: WorkflowComponent> EntityHost<WorkflowRow<W>> {
    /// Runs the steps of workflow `workflow_id` from where its record is, as long as this
    /// process makes its transitions.
    pub(super) async fn drive(self: Arc<Self>, workflow_id: String, client: ComponentClient) {
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
                    kind.running.set(active.len() as f64);
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
    pub(super) async fn run_step(
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
        let span = tracing::debug_span!(
            "workflow.step",
            otel.name = format!("{} step {step}", W::COMPONENT_ID),
            workflow = W::COMPONENT_ID,
            step,
        );
        let guarded =
            AssertUnwindSafe(tracing::Instrument::instrument(future, span)).catch_unwind();
        let (result, outcome) = tokio::select! {
            result = guarded => match result {
                Ok(Ok(transition)) => (Ok(transition), "done"),
                Ok(Err(error)) => (Err(error), "failed"),
                Err(panic) => (Err(crate::outcome::panic_error(
                    W::COMPONENT_ID,
                    context.workflow_id(),
                    panic.as_ref(),
                )), "failed"),
            },
            () = sleep_until(&*kind.clock, due) => (Err(CallError::new(
                ErrorCode::GATEWAY_TIMEOUT,
                format!("step '{step}' did not finish within {timeout:?}"),
            )), "timed_out"),
        };
        metrics::counter!(
            crate::telemetry::names::WORKFLOW_STEPS,
            "workflow" => W::COMPONENT_ID,
            "step" => step.to_owned(),
            "outcome" => outcome
        )
        .increment(1);
        result
    }

    /// Applies a step's result to the workflow, if it is still at the transition that started
    /// the step: the next transition, or the step's recovery. A retry (of attempt `attempt`,
    /// which may be ahead of the record's) writes nothing: it comes back as [`After::Retry`].
    pub(super) async fn apply_step(
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
    pub(super) fn renew_watchdog(&self, workflow_id: &str) -> tokio::task::JoinHandle<()> {
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
}

/// The pause before attempt `attempt` of a step retried until it succeeds: the timers' backoff.
pub(super) fn backoff(attempt: u32) -> Duration {
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
