//! What every consumer shares: a lease so that one process at a time consumes, the delivery of
//! one message to its handler until the handler succeeds, and the pauses between attempts.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use tracing::Instrument;

use crate::backoff::Backoff;
use crate::dispatch::{BoundHandler, Dispatcher, Publication};
use crate::error::CallError;
use crate::invocation::{Body, Invocation};
use crate::metadata::Metadata;
use crate::outcome::Outcome;
use crate::store::{Store, StoreError};

/// How long a consumer's lease lasts without renewal: on a shared store another process takes
/// the consumer over within this (plus [`LEASE_POLL`]) after its holder died.
pub(crate) const LEASE_TTL: Duration = Duration::from_secs(6);
/// How often the holder renews its lease.
pub(crate) const LEASE_RENEW: Duration = Duration::from_secs(2);
/// How often a process without the lease asks for it.
pub(crate) const LEASE_POLL: Duration = Duration::from_secs(1);

/// What every consumer of a process runs with.
#[derive(Clone)]
pub(crate) struct ConsumerContext {
    pub dispatcher: Arc<Dispatcher>,
    pub store: Arc<dyn Store>,
    /// This process, as the holder of leases.
    pub owner: u64,
    /// Notified when this process commits or publishes.
    pub news: Arc<tokio::sync::Notify>,
}

/// Why a consumer stopped delivering.
pub(crate) enum Stop {
    /// The service is stopping.
    Stopping,
    /// Another process holds the consumer's lease now.
    LeaseLost,
}

/// A consumer's lease: taken, renewed when due, and checked before each delivery.
pub(crate) struct Lease {
    name: String,
    owner: u64,
    store: Arc<dyn Store>,
    /// When it was last taken or renewed, while it is held.
    leased_at: Mutex<Option<Instant>>,
}

impl Lease {
    pub(crate) fn new(name: String, owner: u64, store: Arc<dyn Store>) -> Self {
        Self {
            name,
            owner,
            store,
            leased_at: Mutex::new(None),
        }
    }

    /// Whether this process holds the lease, taking or renewing it when due.
    pub(crate) async fn hold(&self) -> Result<bool, StoreError> {
        let leased_at = *self.leased_at.lock().unwrap_or_else(|p| p.into_inner());
        if leased_at.is_some_and(|at| at.elapsed() < LEASE_RENEW) {
            return Ok(true);
        }
        let asked_at = Instant::now();
        let held = self.store.lease(&self.name, self.owner, LEASE_TTL).await;
        *self.leased_at.lock().unwrap_or_else(|p| p.into_inner()) = match held {
            Ok(true) => Some(asked_at),
            _ => None,
        };
        if held == Ok(true) && leased_at.is_none() {
            tracing::info!(consumer = %self.name, "consuming (holds the lease)");
        }
        held
    }

    /// The consumer it is for.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The process it is taken for.
    pub(crate) fn owner(&self) -> u64 {
        self.owner
    }

    /// Gives the lease up, so another process may take it at once.
    pub(crate) async fn release(&self) {
        *self.leased_at.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if let Err(error) = self.store.release_lease(&self.name, self.owner).await {
            tracing::warn!(consumer = %self.name, %error, "giving up the lease failed; it expires instead");
        }
    }
}

/// One message for a handler: its body and metadata.
#[derive(Clone)]
pub(crate) struct Message {
    pub body: Body,
    pub metadata: Metadata,
}

/// Runs `handler` with `message` once: `Err` if it failed (an error or a panic).
pub(crate) async fn attempt(
    dispatcher: &Arc<Dispatcher>,
    handler: &BoundHandler,
    message: &Message,
) -> Result<(), CallError> {
    run(dispatcher, handler, message.clone(), false)
        .await
        .map(|_| ())
}

/// As [`attempt`], but the reply of a `#[publish]` handler is returned, to be published with
/// the rest of the consumer's batch ([`Dispatcher::publish_held`]) before its progress is saved.
pub(crate) async fn attempt_holding_publication(
    dispatcher: &Arc<Dispatcher>,
    handler: &BoundHandler,
    message: Message,
) -> Result<Option<Publication>, CallError> {
    run(dispatcher, handler, message, true).await
}

async fn run(
    dispatcher: &Arc<Dispatcher>,
    handler: &BoundHandler,
    message: Message,
    hold: bool,
) -> Result<Option<Publication>, CallError> {
    let span = tracing::debug_span!(
        "message",
        otel.name = format!("deliver to {}", handler.target()),
        otel.kind = "consumer",
    );
    // The trace of whoever published or wrote it, where the message carries one.
    crate::telemetry::trace_context::adopt_parent_of(&span, &message.metadata);
    let Message { body, metadata } = message;
    let mut invocation = Invocation::new(Vec::new(), Vec::new(), body, metadata);
    span.in_scope(|| crate::telemetry::trace_context::inject_current(invocation.metadata_mut()));
    let run = async {
        if hold {
            dispatcher
                .invoke_holding_publication(handler, invocation)
                .await
        } else {
            (dispatcher.invoke(handler, invocation).await, None)
        }
    };
    match run.instrument(span).await {
        (Outcome::Error(error), _) => Err(error),
        (Outcome::Reply { .. } | Outcome::Ignore | Outcome::Stream(_), held) => Ok(held),
    }
}

/// Whether a handler's error says the message itself was refused (400, 401, 403, 404): it
/// would fail the same way every time. A conflict, a rate limit, a timeout or a 5xx may pass.
pub(crate) fn is_refusal(error: &CallError) -> bool {
    matches!(error.status(), 400 | 401 | 403 | 404)
}

/// After `handler` failed on `message` with `error`: pauses, 1 s doubling to 30 s, and runs it
/// again until it succeeds (`Ok(None)`), or until it fails with an error `gives_up` accepts
/// (`Ok(Some(error))`). Returns early when the lease is lost or the service stops.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn retry_until_done(
    dispatcher: &Arc<Dispatcher>,
    handler: &BoundHandler,
    message: &Message,
    lease: &Lease,
    stopping: &mut watch::Receiver<bool>,
    about: &str,
    mut error: CallError,
    gives_up: fn(&CallError) -> bool,
) -> Result<Option<CallError>, Stop> {
    let mut attempt = 1u32;
    loop {
        if gives_up(&error) {
            return Ok(Some(error));
        }
        let delay = Backoff::CONSUMERS.after(attempt);
        metrics::counter!(crate::telemetry::names::CONSUMER_RETRIES, "consumer" => lease.name.clone())
            .increment(1);
        super::board::failed(&lease.name, &format_args!("{}: {error}", handler.target()));
        tracing::warn!(
            consumer = %lease.name,
            handler = %handler.target(),
            message = about,
            attempt,
            %error,
            "subscription handler failed; delivering the same message again in {delay:?}"
        );
        pause(stopping, delay).await?;
        // A long run of retries must not outlive the lease: another process may have taken
        // the consumer over, and goes on from the progress saved before the first pause.
        if !matches!(lease.hold().await, Ok(true)) {
            return Err(Stop::LeaseLost);
        }
        match self::attempt(dispatcher, handler, message).await {
            Ok(()) => return Ok(None),
            Err(next) => {
                error = next;
                attempt += 1;
            }
        }
    }
}

/// Logs a failed store operation and pauses before the attempt after `attempt`.
pub(crate) async fn failed(
    consumer: &str,
    what: &str,
    error: &StoreError,
    attempt: u32,
    stopping: &mut watch::Receiver<bool>,
) -> Result<(), Stop> {
    let delay = Backoff::CONSUMERS.after(attempt);
    super::board::failed(consumer, &format_args!("{what}: {error}"));
    tracing::warn!(consumer, %error, attempt, "{what} failed; trying again in {delay:?}");
    pause(stopping, delay).await
}

/// Sleeps for `delay`, or until the service stops (then `Err`).
pub(crate) async fn pause(
    stopping: &mut watch::Receiver<bool>,
    delay: Duration,
) -> Result<(), Stop> {
    tokio::select! {
        () = tokio::time::sleep(delay) => Ok(()),
        _ = stopping.wait_for(|stopping| *stopping) => Err(Stop::Stopping),
    }
}

/// Waits until `news` is notified, `delay` has passed, or the service stops (then `Err`).
pub(crate) async fn idle(
    stopping: &mut watch::Receiver<bool>,
    news: &tokio::sync::Notify,
    delay: Duration,
) -> Result<(), Stop> {
    tokio::select! {
        () = news.notified() => Ok(()),
        () = tokio::time::sleep(delay) => Ok(()),
        _ = stopping.wait_for(|stopping| *stopping) => Err(Stop::Stopping),
    }
}

/// Runs `work` until it succeeds or the service stops, with [`failed`] between attempts.
pub(crate) async fn retry<T>(
    consumer: &str,
    what: &str,
    stopping: &mut watch::Receiver<bool>,
    mut work: impl FnMut() -> BoxFuture<'static, Result<T, StoreError>>,
) -> Result<T, Stop> {
    let mut attempt = 0;
    loop {
        match work().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                attempt += 1;
                failed(consumer, what, &error, attempt, stopping).await?;
            }
        }
    }
}
