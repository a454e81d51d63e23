//! The background driver that fires due timers.
//!
//! It claims due timers in the store (each claim lasts [`CLAIM`]: on a shared store each due
//! timer is claimed by one process, and a process that dies while firing leaves its timers to
//! another once the claim runs out), makes each call through the dispatcher, and removes the
//! timer when the call succeeds or reschedules it when it fails. It sleeps until the next due
//! timer, or until this process starts a timer, the clock is moved by hand, or [`SHARED_POLL`]
//! passes on a shared store (timers started by other processes are seen that late).
//!
//! ## Timers (how it works, and why)
//!
//! **Store.** A timer is a row keyed by its name: a generation (a fresh id per start, so a timer
//! started again while the old one fires is not removed by the old one's success), its due time in
//! milliseconds by the service's clock, its call as JSON (`Call` is a plain value), its failed
//! attempts and retry limit, and a claim (owner, until). `Store::claim_due_timers` hands out due
//! timers nobody holds a claim on, or whose claim has run out; on PostgreSQL with `FOR UPDATE SKIP
//! LOCKED`, so two processes never claim one timer (a test runs two claimers at once); SQLite, one
//! process whose driver settles a pass before it claims again, hands out every due timer, so claims a
//! killed process left do not hold its timers back. A start
//! counts the pending timers only for a new name, against `KALIX_TIMERS_MAX_PENDING` (processes
//! starting at once may pass it by a few: it bounds the table; it is not a quota), leaving out the
//! runtime's own timers (`kalix.*`: workflows' watchdogs and timeouts), which are never refused, so
//! user timers cannot make a workflow lose its watchdog and watchdogs cannot use up the users'
//! budget. Past the bound a start is a 503 (capacity), not a 400.
//!
//! **Driver.** The `TimerDriver` background driver claims up to 256 due timers (for 30 s), makes
//! their calls through the dispatcher at once, and records what became of them in one write
//! (`Store::settle_timers`: removed, or due again after the backoff, `timers::next_attempt`). If
//! that write fails the claims run out and the timers fire again: at least once. Between passes it
//! sleeps until the next due time, woken early when this process starts a timer or the clock is
//! moved by hand; on a shared store it also looks every 100 ms for timers other processes started.
//!
//! **Clock.** The runtime reads time only through a `Clock` (`Service::clock`). `SystemClock` in
//! services; the `TestKit` passes a `ManualClock`, whose `advance` moves the time, wakes the driver
//! and waits until the driver reports a pass at that time with nothing left due (`Clock::settled`).
//! The unit testkits install their own firing (`ManualClock::fire_with`) that runs recorded timers
//! through the stubs with the same `next_attempt` rule.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::{Clock, next_attempt};
use crate::background::BackgroundDriver;
use crate::call::{Call, UntypedCall};
use crate::dispatch::Dispatcher;
use crate::outcome::Outcome;
use crate::store::{Store, TimerOutcome, TimerRecord};
use tracing::Instrument;

/// How long a claim on a due timer lasts: its call must finish within it.
pub(crate) const CLAIM: Duration = Duration::from_secs(30);
/// How long a timer's call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// How many due timers a pass claims at once.
const BATCH: usize = 256;
/// How often a process on a shared store looks for timers other processes started.
pub(crate) const SHARED_POLL: Duration = Duration::from_millis(100);
/// How often a process alone on its store looks anyway (its own starts wake it at once).
const LOCAL_POLL: Duration = Duration::from_secs(1);

pub(crate) struct TimerDriver {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub started: Arc<tokio::sync::Notify>,
    metrics: TimerMetrics,
}

/// How often the pending count is read for its gauge, at most.
const COUNT_PENDING_EVERY: Duration = Duration::from_secs(5);

/// The timers' metrics.
struct TimerMetrics {
    pending: metrics::Gauge,
    lateness: metrics::Histogram,
    failures: metrics::Counter,
}

impl TimerMetrics {
    fn new() -> Self {
        use crate::telemetry::names;
        Self {
            pending: metrics::gauge!(names::TIMERS_PENDING),
            lateness: metrics::histogram!(names::TIMER_LATENESS),
            failures: metrics::counter!(names::TIMER_FAILURES),
        }
    }
}

impl TimerDriver {
    pub const NAME: &'static str = "timers";

    /// The service's timers over `store`, with the limits `config` sets, and the driver that
    /// fires them. Without a `durable` store (the service opened none, keeping no state),
    /// starting a timer fails saying why.
    pub(crate) fn start(
        store: &Arc<dyn Store>,
        clock: &Arc<dyn Clock>,
        config: &crate::config::Config,
        durable: bool,
    ) -> (super::Timers, Self) {
        let started = Arc::new(tokio::sync::Notify::new());
        let timers = super::Timers::new(Arc::new(super::scheduler::StoredTimers {
            store: Arc::clone(store),
            clock: Arc::clone(clock),
            limits: super::TimerLimits {
                max_pending: config.max_pending_timers,
                max_payload_bytes: config.max_timer_payload_bytes,
                max_name_bytes: config.max_timer_name_bytes,
            },
            started: Arc::clone(&started),
            durable,
        }));
        let driver = Self {
            store: Arc::clone(store),
            clock: Arc::clone(clock),
            started,
            metrics: TimerMetrics::new(),
        };
        (timers, driver)
    }
}

impl BackgroundDriver for TimerDriver {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn run(
        self: Box<Self>,
        dispatcher: Arc<Dispatcher>,
        mut stopping: watch::Receiver<bool>,
    ) -> BoxFuture<'static, ()> {
        let driver: Arc<Self> = Arc::from(self);
        Box::pin(async move {
            let this = &driver;
            let owner = uuid::Uuid::new_v4().as_u64_pair().0;
            let poll = if this.store.is_shared() {
                SHARED_POLL
            } else {
                LOCAL_POLL
            };
            let mut failures = 0u32;
            // The earliest due time the store reported at the end of the last pass: nothing
            // is due before it unless a start here or a move of the clock says otherwise, so
            // an idle pass asks for the next due time only, not for a claim (a write).
            let mut next_due: Option<u64> = None;
            let mut counted_at: Option<std::time::Instant> = None;
            loop {
                if *stopping.borrow() {
                    return;
                }
                if counted_at.is_none_or(|at| at.elapsed() >= COUNT_PENDING_EVERY) {
                    counted_at = Some(std::time::Instant::now());
                    if let Ok(Some(pending)) = this.store.pending_timers().await {
                        this.metrics.pending.set(pending as f64);
                    }
                }
                // Watched from here, so a move during the pass wakes the wait after it.
                let moved = this.clock.moved();
                let moves = this.clock.moves();
                let now = this.clock.now_ms();
                let claim_ms = CLAIM.as_millis() as u64;
                let may_be_due = next_due.is_none_or(|due| due <= now);
                let claiming = async {
                    if may_be_due {
                        this.store
                            .claim_due_timers(now, claim_ms, owner, BATCH)
                            .await
                    } else {
                        Ok(Vec::new())
                    }
                };
                let claimed = match claiming.await {
                    Ok(claimed) => {
                        failures = 0;
                        claimed
                    }
                    Err(error) => {
                        failures += 1;
                        let delay = Duration::from_millis(100 * u64::from(failures.min(50)));
                        tracing::warn!(%error, "claiming due timers failed; trying again in {delay:?}");
                        if pause(&mut stopping, delay).await {
                            return;
                        }
                        continue;
                    }
                };
                if !claimed.is_empty() {
                    // Each call on a task of its own: handlers run in parallel, and one that
                    // blocks holds back only itself.
                    let fires = claimed.into_iter().map(|timer| {
                        let (driver, dispatcher) = (Arc::clone(&driver), Arc::clone(&dispatcher));
                        tokio::spawn(
                            async move { driver.fire_guarded(&dispatcher, timer, owner).await },
                        )
                    });
                    // A task that could not finish (the runtime stopping) leaves its timer
                    // claimed: it fires again once the claim runs out.
                    let outcomes: Vec<TimerOutcome> = futures_util::future::join_all(fires)
                        .await
                        .into_iter()
                        .filter_map(Result::ok)
                        .collect();
                    // One write for the pass; if it fails, the claims run out and the timers
                    // fire again (at least once).
                    if let Err(error) = this.store.settle_timers(outcomes).await {
                        tracing::warn!(%error, "recording fired timers failed; they fire again once their claims run out");
                    }
                    continue;
                }
                this.clock.settled(moves);
                let (wait, due) = match this.store.next_timer_due(now).await {
                    Ok(Some(due)) if due > now => {
                        (Duration::from_millis(due - now).min(poll), Some(due))
                    }
                    // Due now, and this pass did not claim: claim at once.
                    Ok(Some(_)) if !may_be_due => (Duration::ZERO, None),
                    // None stored: nothing is due until one is started (here, which wakes
                    // this, or in another process, which the next look finds).
                    Ok(None) => (poll, Some(u64::MAX)),
                    // Due but claimed by someone else, or the store did not answer: claim
                    // again after a poll.
                    _ => (poll, None),
                };
                next_due = due;
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = this.started.notified() => next_due = None,
                    () = moved => next_due = None,
                    _ = stopping.wait_for(|stopping| *stopping) => return,
                }
            }
        })
    }
}

/// Sleeps for `delay`; `true` if the service is stopping.
async fn pause(stopping: &mut watch::Receiver<bool>, delay: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        _ = stopping.wait_for(|stopping| *stopping) => true,
    }
}

/// The outcome of a timer that is finished: it is removed.
fn done(timer: &TimerRecord, owner: u64) -> TimerOutcome {
    TimerOutcome {
        name: timer.name.clone(),
        generation: timer.generation.clone(),
        owner,
        retry: None,
    }
}

impl TimerDriver {
    /// [`TimerDriver::fire`], where a panic outside the handler (whose panics are failed calls
    /// already) does not stop the driver: the timer is done, with a log line.
    async fn fire_guarded(
        &self,
        dispatcher: &Arc<Dispatcher>,
        timer: TimerRecord,
        owner: u64,
    ) -> TimerOutcome {
        let done = done(&timer, owner);
        match AssertUnwindSafe(self.fire(dispatcher, timer, owner))
            .catch_unwind()
            .await
        {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::error!(timer = %done.name, "firing a timer panicked; the timer is dropped");
                done
            }
        }
    }

    /// Makes a claimed timer's call: it is done if the call succeeded, due again later if not
    /// (or done, when its retries are spent).
    async fn fire(
        &self,
        dispatcher: &Arc<Dispatcher>,
        timer: TimerRecord,
        owner: u64,
    ) -> TimerOutcome {
        let done = done(&timer, owner);
        let late_ms = self.clock.now_ms().saturating_sub(timer.due_ms);
        self.metrics
            .lateness
            .record(Duration::from_millis(late_ms).as_secs_f64());
        let call: Call = match serde_json::from_slice(&timer.call) {
            Ok(call) => call,
            Err(error) => {
                tracing::error!(timer = %timer.name, %error, "a stored timer's call does not read; the timer is dropped");
                return done;
            }
        };
        let target = format!("{}::{}", call.component(), call.method());
        // A testkit's stubs answer a timer's call as they answer a handler's.
        if let Some(answer) = dispatcher.routed(&call) {
            let failure = match tokio::time::timeout(CALL_TIMEOUT, answer).await {
                Ok(Ok(_)) => None,
                Ok(Err(error)) => Some(error.to_string()),
                Err(_) => Some(format!("no answer within {CALL_TIMEOUT:?}")),
            };
            return self.settled(timer, owner, &target, failure);
        }
        let span = tracing::debug_span!("timer", otel.name = format!("timer {}", timer.name));
        crate::telemetry::trace_context::adopt_parent_of(&span, call.metadata());
        let untyped = UntypedCall { call, defect: None };
        let called = span.in_scope(|| dispatcher.call(untyped)).instrument(span);
        let failure = match tokio::time::timeout(CALL_TIMEOUT, called).await {
            Ok(Outcome::Error(error)) => Some(error.to_string()),
            Ok(Outcome::Reply { .. } | Outcome::Ignore) => None,
            Ok(Outcome::Stream(_)) => Some(format!(
                "{target} streams its replies; a timer calls a handler that replies once"
            )),
            Err(_) => Some(format!("no answer within {CALL_TIMEOUT:?}")),
        };
        self.settled(timer, owner, &target, failure)
    }

    /// What becomes of a fired timer whose call came to `failure` (none: it succeeded).
    fn settled(
        &self,
        timer: TimerRecord,
        owner: u64,
        target: &str,
        failure: Option<String>,
    ) -> TimerOutcome {
        let done = done(&timer, owner);
        let Some(failure) = failure else {
            tracing::debug!(timer = %timer.name, %target, "timer fired");
            return done;
        };
        self.metrics.failures.increment(1);
        let attempts = timer.attempts + 1;
        let Some(delay) = next_attempt(attempts, timer.max_retries) else {
            tracing::warn!(timer = %timer.name, %target, attempts, error = %failure, "timer call failed and its retries are spent; the timer is dropped");
            return done;
        };
        tracing::warn!(timer = %timer.name, %target, attempts, error = %failure, "timer call failed; calling again in {delay:?}");
        let due = self.clock.now_ms().saturating_add(delay.as_millis() as u64);
        TimerOutcome {
            retry: Some((due, attempts)),
            ..done
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_from_three_seconds_to_thirty_or_stay_at_three_with_a_limit() {
        let delays: Vec<u64> = (1..=6)
            .map(|n| next_attempt(n, None).unwrap().as_secs())
            .collect();
        assert_eq!(delays, [3, 6, 12, 24, 30, 30]);
        assert_eq!(next_attempt(2, Some(2)), Some(Duration::from_secs(3)));
        assert_eq!(next_attempt(3, Some(2)), None, "retries spent");
    }
}
