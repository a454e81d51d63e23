//! What a store keeps for timers: one row per timer name, with its due time, the call it makes
//! and its claim (which process fires it, until when).

use bytes::Bytes;

/// A timer as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerRecord {
    /// Its name, unique in the service: starting a timer of a name replaces the one before.
    pub name: String,
    /// This start of the timer: firing and retrying act on it only, so a timer started again
    /// while the old one fires is not removed by the old one's success.
    pub generation: String,
    /// When it is due, in milliseconds since the Unix epoch (as the service's clock says).
    pub due_ms: u64,
    /// The call it makes, as JSON.
    pub call: Bytes,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Retries after a failure before it is dropped; `None` retries forever.
    pub max_retries: Option<u32>,
}

/// Why a timer was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerStart {
    /// It is stored.
    Started,
    /// The service already has `max_pending` timers.
    TooMany,
}

/// What became of a fired timer, for [`TimerStore::settle_timers`](crate::store::TimerStore::settle_timers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerOutcome {
    /// The timer's name.
    pub name: String,
    /// The start of it that fired: a timer started again since is left alone.
    pub generation: String,
    /// The process that fired it: a retry releases only a claim this process still holds
    /// (if the claim ran out and another process took the timer, that one's claim stays).
    pub owner: u64,
    /// `None`: it is done and removed. `Some((due_ms, attempts))`: its call failed; it is due
    /// again then, after that many failed attempts, and its claim is released.
    pub retry: Option<(u64, u32)>,
}
