//! The limits on the timers a client can make the service keep (`KALIX_TIMERS_*`).

use crate::call::Call;
use crate::error::CallError;
use crate::status::ErrorCode;

/// The limits on what a client can make the service keep (`KALIX_TIMERS_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerLimits {
    /// Timers pending at most.
    pub max_pending: u64,
    /// The largest call a timer carries, in bytes of JSON.
    pub max_payload_bytes: usize,
    /// The longest timer name, in bytes.
    pub max_name_bytes: usize,
}

impl Default for TimerLimits {
    /// The defaults of the settings.
    fn default() -> Self {
        Self {
            max_pending: 100_000,
            max_payload_bytes: 64 * 1024,
            max_name_bytes: 1536,
        }
    }
}

impl TimerLimits {
    /// Checks a timer's name and call against the limits: its call as JSON if they hold, or
    /// the 400 the caller gets.
    pub fn check(&self, name: &str, call: &Call) -> Result<Vec<u8>, CallError> {
        let bad = |message: String| CallError::new(ErrorCode::BAD_REQUEST, message);
        if name.is_empty() {
            return Err(bad("a timer needs a name".to_owned()));
        }
        if name.len() > self.max_name_bytes {
            return Err(bad(format!(
                "a timer name is at most {} bytes (KALIX_TIMERS_MAX_NAME_BYTES); this one has {}",
                self.max_name_bytes,
                name.len()
            )));
        }
        let json = serde_json::to_vec(call)
            .map_err(|error| bad(format!("the timer's call cannot be stored: {error}")))?;
        if json.len() > self.max_payload_bytes {
            return Err(bad(format!(
                "timer '{name}': its call is {} bytes, above the limit of {} (KALIX_TIMERS_MAX_PAYLOAD_BYTES)",
                json.len(),
                self.max_payload_bytes
            )));
        }
        Ok(json)
    }

    /// The 503 of a timer refused because `max_pending` are pending: the service is at
    /// capacity, which is not the caller's mistake.
    pub fn too_many(&self, name: &str) -> CallError {
        CallError::new(
            ErrorCode::SERVICE_UNAVAILABLE,
            format!(
                "timer '{name}' was not started: the service is at capacity, with {} timers pending (KALIX_TIMERS_MAX_PENDING); retry later",
                self.max_pending
            ),
        )
    }
}
