//! Durable timers: a component schedules a call for later, and it happens even if the service
//! restarts in between (Kalix's `TimerScheduler`).
//!
//! ```
//! use std::time::Duration;
//! use kalix_core::prelude::*;
//!
//! #[derive(Default)]
//! pub struct Reminders;
//!
//! #[action]
//! impl Reminders {
//!     #[post("/remind/<id>")]
//!     async fn remind(&self, id: String, ctx: &ActionContext) -> action::Effect<String> {
//!         let call = ctx.component_client().action::<Reminders>().fire(id.clone());
//!         match ctx.timers().start_single_timer(format!("remind-{id}"), Duration::from_secs(60), call).await {
//!             Ok(()) => action::Effect::reply("scheduled".to_owned()),
//!             Err(error) => action::Effect::error(error.description().to_owned()),
//!         }
//!     }
//!
//!     #[post("/remind/<id>/fire")]
//!     async fn fire(&self, id: String) -> action::Effect<String> {
//!         action::Effect::reply(format!("reminded {id}"))
//!     }
//! }
//! ```
//!
//! ## Delivery
//! At least once, through the dispatcher like any other call. A call that succeeds removes the
//! timer; one that fails (an error reply or a panic) is made again after 3 s, doubling to 30 s,
//! forever, or, started with [`Timers::start_single_timer_with_retries`], every 3 s until its
//! retries are spent (then the timer is dropped with a log line). A name is unique: starting a
//! timer of a name replaces the one before; cancelling a name nobody holds succeeds.
//!
//! ## Limits
//! `KALIX_TIMERS_MAX_PENDING` bounds the timers of the service's components, all callers
//! together: past it, starting a timer of a new name fails with a 503 saying the service is at
//! capacity (not a 400: the caller did nothing wrong). Names starting with `kalix.` are the
//! runtime's own (a workflow's watchdog and timeout): they are not counted, never refused, not
//! listed by [`Timers::list`], and a component cannot start one.
//!
//! ## Time
//! The runtime reads time through a [`Clock`]. Services use the system's; the `TestKit` uses a
//! [`ManualClock`], so `testkit.clock().advance(d)` fires what fell due at once.

mod clock;
pub(crate) mod driver;
mod limits;
pub(crate) mod scheduler;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

pub use clock::{Clock, ManualClock, SystemClock};
pub use limits::TimerLimits;

use crate::backoff::Backoff;
use crate::call::Call;
pub use crate::call::TimerCall;
use crate::error::CallError;
use crate::status::ErrorCode;

/// What the names of the runtime's own timers start with.
pub const RUNTIME_TIMER_PREFIX: &str = "kalix.";

/// Whether `name` is one of the runtime's own timers (see [`RUNTIME_TIMER_PREFIX`]).
///
/// ```
/// assert!(kalix_core::timers::is_runtime_timer("kalix.workflow/transfer/t1"));
/// assert!(!kalix_core::timers::is_runtime_timer("remind-t1"));
/// ```
pub fn is_runtime_timer(name: &str) -> bool {
    name.starts_with(RUNTIME_TIMER_PREFIX)
}

/// When a timer whose call failed `attempts` times (this one included) is called again: after
/// 3 s doubling to 30 s, or, with a retry limit, a fixed 3 s; `None` when its retries are spent
/// and it is dropped. The runtime's driver and the unit testkits follow it alike.
pub fn next_attempt(attempts: u32, max_retries: Option<u32>) -> Option<Duration> {
    match max_retries {
        Some(max) if attempts > max => None,
        Some(_) => Some(Backoff::TIMERS.first()),
        None => Some(Backoff::TIMERS.after(attempts)),
    }
}

/// Refuses a component's timer named like the runtime's own.
fn user_name(name: String) -> Result<String, CallError> {
    if is_runtime_timer(&name) {
        return Err(CallError::new(
            ErrorCode::BAD_REQUEST,
            format!(
                "timer '{name}': names starting with '{RUNTIME_TIMER_PREFIX}' are the runtime's own"
            ),
        ));
    }
    Ok(name)
}

/// A timer as [`Timers::list`] and the testkits show it.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingTimer {
    /// Its name.
    pub name: String,
    /// When it is due, in milliseconds since the Unix epoch (by the service's clock).
    pub due_ms: u64,
    /// What it calls: `component::method`.
    pub target: String,
    /// The call.
    pub call: Call,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// What carries out [`Timers`]: the runtime's store-backed timers, or a testkit's recording.
pub trait TimerBackend: Send + Sync + 'static {
    /// Starts (or replaces) the timer `name`, due after `delay`, making `call`; returns once it
    /// is durable.
    fn start(
        &self,
        name: String,
        delay: Duration,
        call: Call,
        max_retries: Option<u32>,
    ) -> BoxFuture<'static, Result<(), CallError>>;

    /// Cancels the timer `name`; succeeds when there is none.
    fn cancel(&self, name: String) -> BoxFuture<'static, Result<(), CallError>>;

    /// The pending timers, earliest first (at most 10,000).
    fn list(&self) -> BoxFuture<'static, Result<Vec<PendingTimer>, CallError>>;
}

/// Starts and cancels durable timers: `ctx.timers()` in a handler.
#[derive(Clone)]
pub struct Timers {
    backend: Option<Arc<dyn TimerBackend>>,
}

impl Timers {
    /// Timers carried out by `backend`.
    pub fn new(backend: Arc<dyn TimerBackend>) -> Self {
        Self {
            backend: Some(backend),
        }
    }

    /// Timers where there are none (a context built outside the runtime): every call fails.
    pub fn unavailable() -> Self {
        Self { backend: None }
    }

    fn backend(&self) -> Result<&Arc<dyn TimerBackend>, CallError> {
        self.backend.as_ref().ok_or_else(|| {
            CallError::new(
                crate::ErrorCode::INTERNAL_SERVER_ERROR,
                "timers are not available here: they run in the service's runtime or a testkit",
            )
        })
    }

    /// Starts the timer `name`: after `delay`, `call` is made. A timer of the same name is
    /// replaced. Returns once the timer is durable; fails if the name, the call or the number
    /// of pending timers is over its limit.
    pub async fn start_single_timer(
        &self,
        name: impl Into<String>,
        delay: Duration,
        call: impl TimerCall,
    ) -> Result<(), CallError> {
        let backend = self.backend()?;
        let name = user_name(name.into())?;
        // A call that could not be described would be stored without its body.
        let call = call.into_call()?;
        backend.start(name, delay, call, None).await
    }

    /// As [`Timers::start_single_timer`], but a failing call is made again every 3 s at most
    /// `max_retries` times, then the timer is dropped.
    pub async fn start_single_timer_with_retries(
        &self,
        name: impl Into<String>,
        delay: Duration,
        call: impl TimerCall,
        max_retries: u32,
    ) -> Result<(), CallError> {
        let backend = self.backend()?;
        let name = user_name(name.into())?;
        let call = call.into_call()?;
        backend.start(name, delay, call, Some(max_retries)).await
    }

    /// Starts the timer `name` making `call` (the runtime's own timers, such as a workflow's).
    pub(crate) async fn start_call(
        &self,
        name: String,
        delay: Duration,
        call: Call,
        max_retries: Option<u32>,
    ) -> Result<(), CallError> {
        self.backend()?.start(name, delay, call, max_retries).await
    }

    /// Starts a component's timer `name` making `call` (a workflow command's, recorded before).
    pub(crate) async fn start_user_call(
        &self,
        name: String,
        delay: Duration,
        call: Call,
        max_retries: Option<u32>,
    ) -> Result<(), CallError> {
        let name = user_name(name)?;
        self.start_call(name, delay, call, max_retries).await
    }

    /// Cancels the timer `name`; succeeds when there is none.
    pub async fn cancel(&self, name: impl Into<String>) -> Result<(), CallError> {
        self.backend()?.cancel(name.into()).await
    }

    /// The pending timers of the service's components, earliest first (the runtime's own are
    /// left out: see [`Timers::list_runtime`]).
    pub async fn list(&self) -> Result<Vec<PendingTimer>, CallError> {
        let mut timers = self.backend()?.list().await?;
        timers.retain(|timer| !is_runtime_timer(&timer.name));
        Ok(timers)
    }

    /// The runtime's own pending timers (workflows' watchdogs and timeouts), earliest first.
    pub async fn list_runtime(&self) -> Result<Vec<PendingTimer>, CallError> {
        let mut timers = self.backend()?.list().await?;
        timers.retain(|timer| is_runtime_timer(&timer.name));
        Ok(timers)
    }
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timers")
            .field("available", &self.backend.is_some())
            .finish()
    }
}
