//! The clock the runtime reads time through: the system's, or one a test moves by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use tokio::sync::{Notify, watch};

/// Where the runtime reads the time. Timers fall due by it.
pub trait Clock: Send + Sync + 'static {
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// Resolves when the clock is moved by hand (never, for the system's clock).
    fn moved(&self) -> BoxFuture<'static, ()>;

    /// The timers due at `now_ms` have all been fired (a manual clock's `advance` waits for
    /// this); called by the timer driver after each pass.
    fn settled(&self, now_ms: u64);
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    fn moved(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::pending())
    }

    fn settled(&self, _now_ms: u64) {}
}

/// A clock that moves only when told: tests advance it past a timer's delay instead of waiting
/// for it. It starts at the system's time.
///
/// ```
/// use std::time::Duration;
/// use kalix_core::timers::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let before = clock.now_ms();
/// clock.set_ms(before + 10_000);
/// assert_eq!(clock.now_ms() - before, 10_000);
/// ```
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<Inner>,
}

/// Fires, by itself, what falls due when the clock is advanced (a unit testkit's timers).
type Firing = Arc<dyn Fn(u64) -> BoxFuture<'static, ()> + Send + Sync>;

struct Inner {
    now_ms: AtomicU64,
    moved: Notify,
    settled: watch::Sender<u64>,
    firing: std::sync::Mutex<Option<Firing>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock at the system's time now.
    pub fn new() -> Self {
        let now = SystemClock.now_ms();
        Self {
            inner: Arc::new(Inner {
                now_ms: AtomicU64::new(now),
                moved: Notify::new(),
                settled: watch::channel(0).0,
                firing: std::sync::Mutex::new(None),
            }),
        }
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.inner.now_ms.load(Ordering::SeqCst)
    }

    /// Sets the time, without waiting for what falls due.
    pub fn set_ms(&self, now_ms: u64) {
        self.inner.now_ms.store(now_ms, Ordering::SeqCst);
        self.inner.moved.notify_waiters();
    }

    /// Moves the clock on by `by`, then waits until the timers that fell due have fired (each
    /// call finished, or failed and rescheduled). Waits at most 30 s (a service without a timer
    /// driver never settles).
    pub async fn advance(&self, by: Duration) {
        let target = self.now_ms() + by.as_millis() as u64;
        let mut settled = self.inner.settled.subscribe();
        self.set_ms(target);
        let firing = self
            .inner
            .firing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(fire) = firing {
            fire(target).await;
            return;
        }
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            settled.wait_for(|at| *at >= target),
        )
        .await;
        if waited.is_err() {
            tracing::warn!("the clock was advanced, but the timers due did not settle within 30 s");
        }
    }
}

impl ManualClock {
    /// Makes `fire` (given the new time) what [`ManualClock::advance`] runs and waits for,
    /// instead of a service's timer driver: how a unit testkit fires its recorded timers.
    #[doc(hidden)]
    pub fn fire_with(&self, fire: impl Fn(u64) -> BoxFuture<'static, ()> + Send + Sync + 'static) {
        *self.inner.firing.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(fire));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        ManualClock::now_ms(self)
    }

    fn moved(&self) -> BoxFuture<'static, ()> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { inner.moved.notified().await })
    }

    fn settled(&self, now_ms: u64) {
        self.inner.settled.send_if_modified(|at| {
            let later = now_ms > *at;
            if later {
                *at = now_ms;
            }
            later
        });
    }
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualClock")
            .field("now_ms", &self.now_ms())
            .finish()
    }
}
