//! The clock the runtime reads time through: the system's, or one a test moves by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

/// Where the runtime reads the time. Timers fall due by it.
pub trait Clock: Send + Sync + 'static {
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// How many times the clock was moved by hand so far (0 for the system's clock). The timer
    /// driver reads it before a pass and reports it settled after.
    fn moves(&self) -> u64 {
        0
    }

    /// Resolves when the clock is moved by hand after this call (never, for the system's
    /// clock). It watches from the moment it is called, not from when it is first polled.
    fn moved(&self) -> BoxFuture<'static, ()>;

    /// Every timer due after `moves` moves has been fired; called by the timer driver after a
    /// pass that found nothing due ([`ManualClock::advance`] waits for this).
    fn settled(&self, moves: u64);
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

    fn settled(&self, _moves: u64) {}
}

/// Fires, by itself, what falls due when the clock is advanced (a unit testkit's timers).
type Firing = Arc<dyn Fn(u64) -> BoxFuture<'static, ()> + Send + Sync>;

/// A clock that moves only when told: tests advance it past a timer's delay instead of waiting
/// for it. It starts at the system's time.
///
/// ```
/// use kalix_core::timers::ManualClock;
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

struct Inner {
    now_ms: AtomicU64,
    /// How many times it was moved; watched by the driver.
    moves: watch::Sender<u64>,
    /// The moves the driver has settled.
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
                moves: watch::channel(0).0,
                settled: watch::channel(0).0,
                firing: std::sync::Mutex::new(None),
            }),
        }
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.inner.now_ms.load(Ordering::SeqCst)
    }

    /// Sets the time, without waiting for what falls due; returns the move's number.
    pub fn set_ms(&self, now_ms: u64) -> u64 {
        self.inner.now_ms.store(now_ms, Ordering::SeqCst);
        let mut moves = 0;
        self.inner.moves.send_modify(|count| {
            *count += 1;
            moves = *count;
        });
        moves
    }

    /// Moves the clock on by `by`, then waits until the timers that fell due have fired (each
    /// call finished, or failed and rescheduled). Waits at most 30 s (a service without a timer
    /// driver never settles).
    pub async fn advance(&self, by: Duration) {
        let target = self
            .now_ms()
            .saturating_add(by.as_millis().min(u128::from(u64::MAX)) as u64);
        let mut settled = self.inner.settled.subscribe();
        let moves = self.set_ms(target);
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
            settled.wait_for(|done| *done >= moves),
        )
        .await;
        if waited.is_err() {
            tracing::warn!("the clock was advanced, but the timers due did not settle within 30 s");
        }
    }

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

    fn moves(&self) -> u64 {
        *self.inner.moves.borrow()
    }

    fn moved(&self) -> BoxFuture<'static, ()> {
        let mut moves = self.inner.moves.subscribe();
        Box::pin(async move {
            if moves.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }

    fn settled(&self, moves: u64) {
        self.inner.settled.send_if_modified(|done| {
            let later = moves > *done;
            if later {
                *done = moves;
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
