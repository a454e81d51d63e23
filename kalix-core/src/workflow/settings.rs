//! A workflow's timeouts and recovery strategies.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;

use super::StepId;

/// The default step timeout, as in Kalix.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// A step to run instead of one that failed (or of a workflow that timed out), with its input.
#[derive(Clone, Debug, PartialEq)]
pub struct Failover {
    /// The step.
    pub step: &'static str,
    /// Its input, as JSON.
    pub input: serde_json::Value,
}

fn failover<W, I: Serialize>(step: StepId<W, I>, input: I) -> Failover {
    Failover {
        step: step.name(),
        // An input that does not serialize is a bug the first failover would meet: say so at
        // start-up, where the settings are read.
        input: serde_json::to_value(&input).unwrap_or_else(|error| {
            panic!(
                "the failover input of step '{}' cannot be serialized: {error}",
                step.name()
            )
        }),
    }
}

/// What happens when a step fails (an error, a panic, or its timeout): it is run again up to
/// `max_retries` times, then the workflow fails over to another step, if one is named.
///
/// ```
/// use kalix_core::workflow::{Recovery, StepId};
///
/// struct Transfer;
/// const COMPENSATE: StepId<Transfer, ()> = StepId::new("compensate-withdraw");
///
/// let recovery = Recovery::max_retries(2).failover_to(COMPENSATE, ());
/// assert_eq!(recovery.retries(), Some(2));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Recovery<W> {
    max_retries: Option<u32>,
    failover: Option<Failover>,
    marker: PhantomData<fn() -> W>,
}

impl<W> Recovery<W> {
    /// Run a failing step again, at most `n` times; when they are spent (and no failover step
    /// is named) the workflow pauses, with the failure logged, until a command moves it on.
    pub fn max_retries(n: u32) -> Self {
        Self {
            max_retries: Some(n),
            failover: None,
            marker: PhantomData,
        }
    }

    /// How many times a failing step runs again; `None`: until it succeeds.
    pub fn retries(&self) -> Option<u32> {
        self.max_retries
    }

    /// The step run once the retries are spent.
    pub fn failover(&self) -> Option<&Failover> {
        self.failover.as_ref()
    }

    /// Retry until it succeeds, waiting 3 s doubling to 30 s between attempts: what a step
    /// without a recovery does.
    pub fn retry_forever() -> Self {
        Self {
            max_retries: None,
            failover: None,
            marker: PhantomData,
        }
    }
}

impl<W> Recovery<W> {
    /// Once the retries are spent, fail over to `step` with `input`
    /// (`Recovery::max_retries(0).failover_to(..)` fails over at the first failure). A step
    /// entered through a failover never fails over itself: when its own retries are spent the
    /// workflow pauses.
    pub fn failover_to<I: Serialize>(mut self, step: StepId<W, I>, input: I) -> Self {
        self.failover = Some(failover(step, input));
        self
    }
}

/// The timeouts and recovery strategies of workflow `W`, from its `#[settings]` method.
///
/// ```
/// use std::time::Duration;
/// use kalix_core::workflow::{Recovery, Settings, StepId};
///
/// struct Transfer;
/// const DEPOSIT: StepId<Transfer, u64> = StepId::new("deposit");
/// const FAILOVER: StepId<Transfer, ()> = StepId::new("failover-handler");
///
/// let settings = Settings::<Transfer>::new()
///     .timeout(Duration::from_secs(5))
///     .failover_to(FAILOVER, (), 0)
///     .default_step_timeout(Duration::from_secs(2))
///     .default_step_recovery(Recovery::max_retries(1).failover_to(FAILOVER, ()))
///     .step_timeout(DEPOSIT, Duration::from_secs(3));
/// assert_eq!(settings.step_timeout_of("deposit"), Duration::from_secs(3));
/// assert_eq!(settings.step_timeout_of("withdraw"), Duration::from_secs(2));
/// ```
#[derive(Clone, Debug)]
pub struct Settings<W> {
    timeout: Option<Duration>,
    timeout_failover: Option<(Failover, u32)>,
    default_step_timeout: Duration,
    default_recovery: Recovery<W>,
    step_timeouts: HashMap<&'static str, Duration>,
    step_recoveries: HashMap<&'static str, Recovery<W>>,
}

impl<W> Default for Settings<W> {
    fn default() -> Self {
        Self {
            timeout: None,
            timeout_failover: None,
            default_step_timeout: DEFAULT_STEP_TIMEOUT,
            default_recovery: Recovery::retry_forever(),
            step_timeouts: HashMap::new(),
            step_recoveries: HashMap::new(),
        }
    }
}

impl<W> Settings<W> {
    /// No workflow timeout, steps time out after 5 s and are retried until they succeed.
    pub fn new() -> Self {
        Self::default()
    }

    /// The workflow times out `timeout` after it starts (time spent paused does not count):
    /// then it runs the step named by [`Settings::failover_to`], or ends.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The step to run when the workflow times out, with its input; it is retried at most
    /// `max_retries` times and never fails over itself.
    pub fn failover_to<I: Serialize>(
        mut self,
        step: StepId<W, I>,
        input: I,
        max_retries: u32,
    ) -> Self {
        self.timeout_failover = Some((failover(step, input), max_retries));
        self
    }

    /// How long a step may run before it counts as failed, unless it has its own (default 5 s).
    pub fn default_step_timeout(mut self, timeout: Duration) -> Self {
        self.default_step_timeout = timeout;
        self
    }

    /// How a failing step recovers, unless it has its own (default: retried until it succeeds).
    pub fn default_step_recovery(mut self, recovery: Recovery<W>) -> Self {
        self.default_recovery = recovery;
        self
    }

    /// `step`'s own timeout.
    pub fn step_timeout<I>(mut self, step: StepId<W, I>, timeout: Duration) -> Self {
        self.step_timeouts.insert(step.name(), timeout);
        self
    }

    /// `step`'s own recovery.
    pub fn step_recovery<I>(mut self, step: StepId<W, I>, recovery: Recovery<W>) -> Self {
        self.step_recoveries.insert(step.name(), recovery);
        self
    }

    /// The workflow timeout, if any.
    pub fn workflow_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The step run when the workflow times out, and its retries.
    pub fn timeout_failover(&self) -> Option<&(Failover, u32)> {
        self.timeout_failover.as_ref()
    }

    /// The timeout of step `name`.
    pub fn step_timeout_of(&self, name: &str) -> Duration {
        self.step_timeouts
            .get(name)
            .copied()
            .unwrap_or(self.default_step_timeout)
    }

    /// The recovery of step `name`.
    pub fn recovery_of(&self, name: &str) -> &Recovery<W> {
        self.step_recoveries
            .get(name)
            .unwrap_or(&self.default_recovery)
    }
}
