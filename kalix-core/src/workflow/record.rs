//! What is stored of a workflow, and how transitions, failures and the workflow timeout move it.
//! Pure: the runtime and the unit testkit both drive workflows through it.

use serde::{Deserialize, Serialize};

use super::{Settings, Target, Transition};
use crate::error::CallError;
use crate::status::ErrorCode;

/// Where a workflow is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Position {
    /// No transition yet.
    NotStarted,
    /// A step is to run (or running).
    Running {
        /// The step.
        step: String,
        /// Its input, as JSON.
        input: serde_json::Value,
        /// 0, then 1, 2, .. for each retry.
        attempt: u32,
        /// Entered through a failover: it does not fail over again.
        #[serde(default)]
        failed_over: bool,
        /// Its retries, when a failover set them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_retries: Option<u32>,
        /// A retry after a backoff runs no earlier than this (ms since the epoch).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_before_ms: Option<u64>,
    },
    /// Waiting for a command.
    Paused,
    /// Finished.
    Ended,
}

/// A workflow as stored: its state, where it is, and its transition count (`run`), which
/// fences a step's result against transitions made while it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record<S> {
    /// The state; none until the first update.
    pub state: Option<S>,
    /// Where it is.
    pub position: Position,
    /// How many transitions it made.
    pub run: u64,
    /// When the workflow times out (while it is running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// What is left of the workflow timeout while it is paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_left_ms: Option<u64>,
    /// The workflow timed out: no further workflow timeout runs (its failover step does not
    /// time out again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// Suspended by an operator (the admin API): no step runs, and its workflow timeout does not
    /// run down, until it is resumed. Commands still run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
}

impl<S> Default for Record<S> {
    fn default() -> Self {
        Self {
            state: None,
            position: Position::NotStarted,
            run: 0,
            deadline_ms: None,
            timeout_left_ms: None,
            timed_out: false,
            suspended: false,
        }
    }
}

/// What became of a failed step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovered {
    /// It runs again (attempt `n`), at once or after a backoff.
    Retry(u32),
    /// The workflow failed over to this step.
    FailedOver(String),
    /// Its retries are spent and there is nowhere to fail over: the workflow paused.
    Stopped,
}

impl<S> Record<S> {
    /// The running step, its input and attempt, if a step is to run.
    pub fn running(&self) -> Option<(&str, &serde_json::Value, u32)> {
        if self.suspended {
            return None;
        }
        match &self.position {
            Position::Running {
                step,
                input,
                attempt,
                ..
            } => Some((step, input, *attempt)),
            _ => None,
        }
    }

    /// Whether the workflow has ended.
    pub fn ended(&self) -> bool {
        self.position == Position::Ended
    }

    /// Makes `transition` (from a command or a step) at `now_ms`: refused once the workflow
    /// ended, or for a step `steps` does not have.
    pub fn transition<W>(
        &mut self,
        transition: Transition<W, S>,
        settings: &Settings<W>,
        steps: &[&str],
        now_ms: u64,
        workflow: &str,
    ) -> Result<(), CallError> {
        if self.ended() {
            return Err(CallError::new(
                ErrorCode::BAD_REQUEST,
                format!("{workflow} has ended; its state no longer changes"),
            ));
        }
        let target = transition.target?;
        let position = match target {
            Target::Step { name, input } => {
                if !steps.contains(&name) {
                    return Err(CallError::new(
                        ErrorCode::INTERNAL_SERVER_ERROR,
                        format!("{workflow} has no step '{name}'"),
                    ));
                }
                running(name.to_owned(), input, false, None)
            }
            Target::Pause => Position::Paused,
            Target::End => Position::Ended,
        };
        if let Some(state) = transition.update {
            self.state = Some(state);
        }
        self.move_to(position, settings, now_ms);
        Ok(())
    }

    fn move_to<W>(&mut self, position: Position, settings: &Settings<W>, now_ms: u64) {
        match &position {
            // While suspended the timeout does not run down: what is left is kept.
            Position::Running { .. } if self.suspended => {}
            Position::Running { .. } => {
                if let (None, Some(timeout), false) = (
                    self.deadline_ms,
                    settings.workflow_timeout(),
                    self.timed_out,
                ) {
                    let left = self
                        .timeout_left_ms
                        .take()
                        .unwrap_or(timeout.as_millis() as u64);
                    self.deadline_ms = Some(now_ms.saturating_add(left));
                }
            }
            Position::Paused => {
                if let Some(deadline) = self.deadline_ms.take() {
                    self.timeout_left_ms = Some(deadline.saturating_sub(now_ms));
                }
            }
            Position::Ended | Position::NotStarted => {
                self.deadline_ms = None;
                self.timeout_left_ms = None;
                self.suspended = false;
            }
        }
        self.position = position;
        self.run += 1;
    }

    /// The running step failed: it is retried, the workflow fails over, or it stops (pauses),
    /// as the step's recovery says. `backoff` gives the pause before attempt `n` of a step
    /// retried until it succeeds.
    pub fn fail<W>(
        &mut self,
        settings: &Settings<W>,
        now_ms: u64,
        backoff: impl Fn(u32) -> std::time::Duration,
    ) -> Recovered {
        let Position::Running {
            step,
            input,
            attempt,
            failed_over,
            max_retries,
            ..
        } = self.position.clone()
        else {
            return Recovered::Stopped;
        };
        let recovery = settings.recovery_of(&step);
        let retries = if failed_over {
            max_retries.or(recovery.retries())
        } else {
            recovery.retries()
        };
        let next = attempt + 1;
        // Retried until it succeeds: after a backoff. A bounded retry: at once.
        let retry_at = match retries {
            None => Some(Some(
                now_ms.saturating_add(backoff(next).as_millis() as u64),
            )),
            Some(retries) if attempt < retries => Some(None),
            Some(_) => None,
        };
        if let Some(not_before_ms) = retry_at {
            self.position = Position::Running {
                step,
                input,
                attempt: next,
                failed_over,
                max_retries,
                not_before_ms,
            };
            self.run += 1;
            return Recovered::Retry(next);
        }
        match recovery.failover().filter(|_| !failed_over) {
            Some(failover) => {
                let position =
                    running(failover.step.to_owned(), failover.input.clone(), true, None);
                self.move_to(position, settings, now_ms);
                Recovered::FailedOver(failover.step.to_owned())
            }
            None => {
                self.move_to(Position::Paused, settings, now_ms);
                Recovered::Stopped
            }
        }
    }

    /// Suspends it at `now_ms` (the admin API): no step runs until [`Record::unsuspend`], and
    /// what is left of its workflow timeout is kept. A step running now is fenced off (`run`
    /// moves on): its result is dropped and the step runs again on resume. `false` if it was
    /// suspended already; refused once it ended.
    pub fn suspend(&mut self, now_ms: u64, workflow: &str) -> Result<bool, CallError> {
        if self.ended() {
            return Err(CallError::new(
                ErrorCode::CONFLICT,
                format!("{workflow} has ended; there is nothing to suspend"),
            ));
        }
        if self.suspended {
            return Ok(false);
        }
        if let Some(deadline) = self.deadline_ms.take() {
            self.timeout_left_ms = Some(deadline.saturating_sub(now_ms));
        }
        self.suspended = true;
        self.run += 1;
        Ok(true)
    }

    /// Resumes a suspended workflow at `now_ms`: the step it is at runs again, and a workflow
    /// timeout it had runs down from what was left. `false` if it was not suspended.
    pub fn unsuspend<W>(&mut self, settings: &Settings<W>, now_ms: u64) -> bool {
        if !self.suspended {
            return false;
        }
        self.suspended = false;
        let position = self.position.clone();
        self.move_to(position, settings, now_ms);
        true
    }

    /// Ends it at once, without running a step or compensation (the admin API). `false` if it
    /// had ended.
    pub fn terminate<W>(&mut self, settings: &Settings<W>, now_ms: u64) -> bool {
        if self.ended() {
            return false;
        }
        self.suspended = false;
        self.move_to(Position::Ended, settings, now_ms);
        true
    }

    /// The workflow timeout fell due at `now_ms`: the workflow runs its timeout failover step,
    /// or ends. `false` if it was not due (it ended, paused, or its deadline moved).
    pub fn time_out<W>(&mut self, settings: &Settings<W>, now_ms: u64) -> bool {
        if self.suspended || self.deadline_ms.is_none_or(|deadline| deadline > now_ms) {
            return false;
        }
        let position = match settings.timeout_failover() {
            Some((failover, retries)) => running(
                failover.step.to_owned(),
                failover.input.clone(),
                true,
                Some(*retries),
            ),
            None => Position::Ended,
        };
        self.deadline_ms = None;
        self.timeout_left_ms = None;
        self.timed_out = true;
        self.move_to(position, settings, now_ms);
        true
    }
}

fn running(
    step: String,
    input: serde_json::Value,
    failed_over: bool,
    max_retries: Option<u32>,
) -> Position {
    Position::Running {
        step,
        input,
        attempt: 0,
        failed_over,
        max_retries,
        not_before_ms: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::workflow::{Recovery, StepId};

    struct Flow;
    const A: StepId<Flow, ()> = StepId::new("a");
    const B: StepId<Flow, u32> = StepId::new("b");
    const STEPS: &[&str] = &["a", "b"];

    fn no_backoff(_: u32) -> Duration {
        Duration::ZERO
    }

    #[test]
    fn a_suspended_workflow_runs_no_step_and_keeps_its_timeout_until_resumed() {
        let settings = Settings::<Flow>::new().timeout(Duration::from_secs(10));
        let mut record = started(&settings);
        assert_eq!(record.deadline_ms, Some(10_000));
        let run = record.run;
        assert_eq!(record.suspend(4_000, "flow"), Ok(true));
        assert!(record.running().is_none(), "no step runs while suspended");
        assert_eq!(record.run, run + 1, "a step in flight is fenced off");
        assert_eq!(
            (record.deadline_ms, record.timeout_left_ms),
            (None, Some(6_000))
        );
        assert!(
            !record.time_out(&settings, 20_000),
            "the timeout does not run down"
        );
        assert_eq!(record.suspend(5_000, "flow"), Ok(false));

        assert!(record.unsuspend(&settings, 30_000));
        assert_eq!(record.running().map(|(step, _, _)| step), Some("a"));
        assert_eq!(
            record.deadline_ms,
            Some(36_000),
            "what was left runs down again"
        );
        assert!(!record.unsuspend(&settings, 30_000));
    }

    #[test]
    fn a_command_that_moves_a_suspended_workflow_starts_no_timeout_and_runs_no_step() {
        let settings = Settings::<Flow>::new().timeout(Duration::from_secs(10));
        let mut record = started(&settings);
        record.suspend(4_000, "flow").unwrap();
        record
            .transition(
                Transition::update_state(2).transition_to(B, 7),
                &settings,
                STEPS,
                5_000,
                "flow",
            )
            .unwrap();
        assert!(record.running().is_none(), "still suspended");
        assert_eq!(
            (record.deadline_ms, record.timeout_left_ms),
            (None, Some(6_000))
        );
        assert!(!record.time_out(&settings, 60_000));
        assert!(record.unsuspend(&settings, 10_000));
        assert_eq!(record.running().map(|(step, _, _)| step), Some("b"));
        assert_eq!(record.deadline_ms, Some(16_000));
    }

    #[test]
    fn terminating_ends_a_workflow_at_once_and_an_ended_one_cannot_be_suspended() {
        let settings = Settings::<Flow>::new().timeout(Duration::from_secs(10));
        let mut record = started(&settings);
        record.suspend(1_000, "flow").unwrap();
        assert!(record.terminate(&settings, 2_000));
        assert!(record.ended() && !record.suspended);
        assert_eq!((record.deadline_ms, record.timeout_left_ms), (None, None));
        assert!(!record.terminate(&settings, 3_000));
        let refused = record.suspend(3_000, "flow").unwrap_err();
        assert_eq!(refused.status(), 409);
    }

    fn started(settings: &Settings<Flow>) -> Record<i32> {
        let mut record = Record::default();
        record
            .transition(
                Transition::update_state(1).transition_to(A, ()),
                settings,
                STEPS,
                0,
                "flow",
            )
            .unwrap();
        record
    }

    #[test]
    fn retries_then_fails_over_once_and_a_failover_step_stops_instead_of_failing_over() {
        let settings =
            Settings::new().default_step_recovery(Recovery::max_retries(1).failover_to(B, 7));
        let mut record = started(&settings);
        assert_eq!(record.fail(&settings, 0, no_backoff), Recovered::Retry(1));
        assert_eq!(
            record.fail(&settings, 0, no_backoff),
            Recovered::FailedOver("b".into())
        );
        assert_eq!(
            record.running().map(|(s, i, _)| (s.to_owned(), i.clone())),
            Some(("b".into(), 7.into()))
        );
        assert_eq!(record.fail(&settings, 0, no_backoff), Recovered::Retry(1));
        assert_eq!(record.fail(&settings, 0, no_backoff), Recovered::Stopped);
        assert_eq!(record.position, Position::Paused);
    }

    #[test]
    fn the_workflow_timeout_does_not_count_time_spent_paused() {
        let settings = Settings::new()
            .timeout(Duration::from_secs(5))
            .failover_to(B, 1, 0);
        let mut record = started(&settings);
        assert_eq!(record.deadline_ms, Some(5_000));
        record
            .transition(Transition::pause(), &settings, STEPS, 2_000, "flow")
            .unwrap();
        assert!(!record.time_out(&settings, 100_000), "paused: not due");
        record
            .transition(
                Transition::transition_to(A, ()),
                &settings,
                STEPS,
                100_000,
                "flow",
            )
            .unwrap();
        assert_eq!(record.deadline_ms, Some(103_000));
        assert!(record.time_out(&settings, 103_000));
        assert_eq!(
            record.running().map(|(s, _, _)| s.to_owned()),
            Some("b".into())
        );
    }

    #[test]
    fn after_the_end_a_transition_is_refused_and_the_state_stays() {
        let settings = Settings::new();
        let mut record = started(&settings);
        record
            .transition(
                Transition::update_state(2).end(),
                &settings,
                STEPS,
                0,
                "flow",
            )
            .unwrap();
        let refused = record.transition(
            Transition::update_state(3).pause(),
            &settings,
            STEPS,
            0,
            "flow",
        );
        assert!(refused.is_err());
        assert_eq!(record.state, Some(2));
    }
}
