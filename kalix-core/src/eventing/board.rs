//! What this process knows of the consumers it runs, for the admin API: whether it holds each
//! one's lease, how far behind it was at its last read, and its last failure. Kept in memory
//! for the process (the store has positions and leases; this has what only the runner sees),
//! updated where the consumers already log and record metrics.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// The most consumers remembered: a service has a handful per component, so this only bounds
/// a misuse.
const MAX_CONSUMERS: usize = 10_000;

/// One consumer as this process last saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Seen {
    /// This process holds its lease (it consumes here).
    pub held_here: bool,
    /// Read and not yet processed at its last read (a lower bound when the batch was full).
    pub lag_events: u64,
    /// Seconds since it was last caught up, at its last read.
    pub lag_seconds: f64,
    /// Its last failure: when (ms since the epoch) and what.
    pub last_error: Option<(u64, String)>,
}

fn board() -> &'static Mutex<HashMap<String, Seen>> {
    static BOARD: OnceLock<Mutex<HashMap<String, Seen>>> = OnceLock::new();
    BOARD.get_or_init(Mutex::default)
}

fn update(consumer: &str, change: impl FnOnce(&mut Seen)) {
    let mut board = board().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(seen) = board.get_mut(consumer) {
        change(seen);
    } else if board.len() < MAX_CONSUMERS {
        change(board.entry(consumer.to_owned()).or_default());
    }
}

/// Whether this process holds `consumer`'s lease now.
pub(crate) fn holding(consumer: &str, held: bool) {
    update(consumer, |seen| seen.held_here = held);
}

/// `consumer` read a batch, `events` long, `seconds` after it was last caught up.
pub(crate) fn lag(consumer: &str, events: u64, seconds: f64) {
    update(consumer, |seen| {
        seen.lag_events = events;
        seen.lag_seconds = seconds;
    });
}

/// `consumer` failed with `error` (a handler's, an update's, or the store's).
pub(crate) fn failed(consumer: &str, error: &dyn std::fmt::Display) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let mut text = error.to_string();
    text.truncate(2_000);
    update(consumer, |seen| seen.last_error = Some((now, text)));
}

/// What this process saw of `consumer`, if it ran it.
pub(crate) fn seen(consumer: &str) -> Option<Seen> {
    board()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(consumer)
        .cloned()
}

/// The consumers this process ran, by name.
pub(crate) fn names() -> Vec<String> {
    let board = board().lock().unwrap_or_else(|p| p.into_inner());
    let mut names: Vec<String> = board.keys().cloned().collect();
    names.sort();
    names
}
