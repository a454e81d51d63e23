//! The runtime's timers: kept in the store, read by the service's clock, fired by the driver.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::{Clock, PendingTimer, TimerBackend, TimerLimits};
use crate::call::Call;
use crate::error::CallError;
use crate::status::ErrorCode;
use crate::store::{Store, StoreError, TimerRecord, TimerStart};

/// How many timers a listing shows at most.
const LIST_LIMIT: usize = 10_000;

/// Timers in the store.
pub(crate) struct StoredTimers {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub limits: TimerLimits,
    /// Wakes this process's driver when a timer is started, in case it falls due sooner than
    /// what the driver waits for.
    pub started: Arc<tokio::sync::Notify>,
    /// Whether the store outlives the process. A service none of whose components keeps state
    /// does not open its configured store, and refuses timers rather than lose them.
    pub durable: bool,
}

fn unavailable(what: &str, error: &StoreError) -> CallError {
    tracing::warn!(%error, "{what} failed");
    CallError::new(
        ErrorCode::SERVICE_UNAVAILABLE,
        format!("{what} failed in the store; retry"),
    )
}

impl TimerBackend for StoredTimers {
    fn start(
        &self,
        name: String,
        delay: Duration,
        call: Call,
        max_retries: Option<u32>,
    ) -> BoxFuture<'static, Result<(), CallError>> {
        let limits = self.limits;
        if !self.durable {
            return Box::pin(async {
                Err(CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    "timers need a durable store, and this service opens none because none of its \
                     components keeps state; give it an entity, or run it with Service::store(..)",
                ))
            });
        }
        // The call fires later as part of the trace it was started in.
        let mut call = call;
        crate::telemetry::trace_context::inject_current(call.metadata_mut());
        let json = match limits.check(&name, &call) {
            Ok(json) => json,
            Err(error) => return Box::pin(async move { Err(error) }),
        };
        let record = TimerRecord {
            generation: uuid::Uuid::new_v4().to_string(),
            // Stored as a signed 64-bit number: "never" is the largest that fits.
            due_ms: self
                .clock
                .now_ms()
                .saturating_add(delay.as_millis().min(u128::from(u64::MAX)) as u64)
                .min(i64::MAX as u64),
            name,
            call: Bytes::from(json),
            attempts: 0,
            max_retries,
        };
        let (store, started) = (Arc::clone(&self.store), Arc::clone(&self.started));
        Box::pin(async move {
            let name = record.name.clone();
            // The runtime's own timers are neither counted nor refused.
            let max_pending = if super::is_runtime_timer(&name) {
                u64::MAX
            } else {
                limits.max_pending
            };
            match store.start_timer(record, max_pending).await {
                Ok(TimerStart::Started) => {
                    started.notify_one();
                    Ok(())
                }
                Ok(TimerStart::TooMany) => Err(limits.too_many(&name)),
                Err(error) => Err(unavailable("starting a timer", &error)),
            }
        })
    }

    fn cancel(&self, name: String) -> BoxFuture<'static, Result<(), CallError>> {
        let store = Arc::clone(&self.store);
        Box::pin(async move {
            store
                .cancel_timer(&name)
                .await
                .map_err(|error| unavailable("cancelling a timer", &error))
        })
    }

    fn list(&self) -> BoxFuture<'static, Result<Vec<PendingTimer>, CallError>> {
        let store = Arc::clone(&self.store);
        Box::pin(async move {
            let records = store
                .list_timers(LIST_LIMIT)
                .await
                .map_err(|error| unavailable("listing timers", &error))?;
            Ok(records.into_iter().filter_map(pending).collect())
        })
    }
}

/// A stored timer as users see it; `None` if its call no longer reads.
pub(crate) fn pending(record: TimerRecord) -> Option<PendingTimer> {
    let call: Call = serde_json::from_slice(&record.call).ok()?;
    Some(PendingTimer {
        target: format!("{}::{}", call.component(), call.method()),
        name: record.name,
        due_ms: record.due_ms,
        call,
        attempts: record.attempts,
    })
}
