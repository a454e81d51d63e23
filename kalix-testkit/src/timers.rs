//! Timers in a unit testkit: recorded, not stored. Advancing the testkit's clock fires the due
//! ones through the stubs (a stubbed call succeeds, an unstubbed one fails and is retried as the
//! runtime retries it).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use kalix_core::timers::{ManualClock, PendingTimer, TimerBackend, TimerLimits, next_attempt};
use kalix_core::{Call, CallError, Transport};

use crate::stubs::Stubs;

struct Recorded {
    timer: PendingTimer,
    max_retries: Option<u32>,
    /// Which start of the timer this is: a start of the same name while it fires replaces it.
    start: u64,
}

/// The recorded timers of a unit testkit.
pub(crate) struct RecordedTimers {
    clock: ManualClock,
    timers: Mutex<Vec<Recorded>>,
    starts: std::sync::atomic::AtomicU64,
}

impl RecordedTimers {
    /// Timers on `clock`, whose advances fire them through `stubs`.
    pub fn new(clock: ManualClock, stubs: Arc<Stubs>) -> Arc<Self> {
        let timers = Arc::new(Self {
            clock: clock.clone(),
            timers: Mutex::new(Vec::new()),
            starts: std::sync::atomic::AtomicU64::new(0),
        });
        // Weak both: the stubs hold these timers, and the clock holds this closure.
        let (weak, stubs) = (Arc::downgrade(&timers), Arc::downgrade(&stubs));
        clock.fire_with(move |now| {
            let (timers, stubs) = (weak.upgrade(), stubs.upgrade());
            Box::pin(async move {
                if let (Some(timers), Some(stubs)) = (timers, stubs) {
                    timers.fire_due(now, stubs).await;
                }
            })
        });
        timers
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Recorded>> {
        self.timers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The pending timers, earliest first.
    pub fn pending(&self) -> Vec<PendingTimer> {
        let mut timers: Vec<PendingTimer> = self.lock().iter().map(|r| r.timer.clone()).collect();
        timers.sort_by_key(|t| t.due_ms);
        timers
    }

    /// Fires, one by one in due order, every timer due at `now`, each once, as the runtime's
    /// driver does: a failed call is due again after its backoff from `now`.
    async fn fire_due(&self, now: u64, stubs: Arc<Stubs>) {
        let mut fired = Vec::new();
        loop {
            let due = {
                let timers = self.lock();
                timers
                    .iter()
                    .filter(|r| r.timer.due_ms <= now && !fired.contains(&r.start))
                    .min_by_key(|r| r.timer.due_ms)
                    .map(|r| (r.start, r.timer.call.clone()))
            };
            let Some((start, call)) = due else {
                return;
            };
            fired.push(start);
            let succeeded = Arc::clone(&stubs).execute(call).await.is_ok();
            let mut timers = self.lock();
            let Some(index) = timers.iter().position(|r| r.start == start) else {
                continue;
            };
            if succeeded {
                timers.remove(index);
                continue;
            }
            let recorded = &mut timers[index];
            recorded.timer.attempts += 1;
            match next_attempt(recorded.timer.attempts, recorded.max_retries) {
                Some(delay) => {
                    recorded.timer.due_ms = now.saturating_add(delay.as_millis() as u64);
                }
                None => {
                    timers.remove(index);
                }
            }
        }
    }
}

impl TimerBackend for RecordedTimers {
    fn start(
        &self,
        name: String,
        delay: Duration,
        call: Call,
        max_retries: Option<u32>,
    ) -> BoxFuture<'static, Result<(), CallError>> {
        // The runtime's limits (their defaults): what a service refuses, a unit test refuses.
        let limits = TimerLimits::default();
        if let Err(error) = limits.check(&name, &call) {
            return Box::pin(async move { Err(error) });
        }
        let start = self
            .starts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut timers = self.lock();
        let replaces = timers.iter().any(|r| r.timer.name == name);
        if !replaces && timers.len() as u64 >= limits.max_pending {
            let error = limits.too_many(&name);
            return Box::pin(async move { Err(error) });
        }
        timers.retain(|r| r.timer.name != name);
        timers.push(Recorded {
            timer: PendingTimer {
                target: format!("{}::{}", call.component(), call.method()),
                name,
                due_ms: self
                    .clock
                    .now_ms()
                    .saturating_add(delay.as_millis().min(u128::from(u64::MAX)) as u64),
                call,
                attempts: 0,
            },
            max_retries,
            start,
        });
        Box::pin(async { Ok(()) })
    }

    fn cancel(&self, name: String) -> BoxFuture<'static, Result<(), CallError>> {
        self.lock().retain(|r| r.timer.name != name);
        Box::pin(async { Ok(()) })
    }

    fn list(&self) -> BoxFuture<'static, Result<Vec<PendingTimer>, CallError>> {
        let pending = self.pending();
        Box::pin(async move { Ok(pending) })
    }
}
