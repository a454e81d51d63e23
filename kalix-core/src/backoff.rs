//! One backoff for everything that retries: consumers and view updaters, timers and workflow
//! steps. Each waits longer after each failure in a row, doubling, up to a cap.

use std::time::Duration;

/// Pauses that double after each failure in a row, from `first` up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
}

impl Backoff {
    /// Subscriptions and view updaters: 1 s, doubling, at most 30 s.
    pub(crate) const CONSUMERS: Backoff =
        Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    /// Timers and workflow steps: 3 s, doubling, at most 30 s.
    pub(crate) const TIMERS: Backoff =
        Backoff::new(Duration::from_secs(3), Duration::from_secs(30));

    pub(crate) const fn new(first: Duration, max: Duration) -> Self {
        Self { first, max }
    }

    /// The first pause.
    pub(crate) const fn first(self) -> Duration {
        self.first
    }

    /// The pause after the `failures`-th failure in a row (1 for the first; 0 reads as 1).
    pub(crate) fn after(self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_from_the_first_to_the_cap() {
        let seconds = |backoff: Backoff| -> Vec<u64> {
            (0..=8).map(|n| backoff.after(n).as_secs()).collect()
        };
        assert_eq!(seconds(Backoff::CONSUMERS), [1, 1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(seconds(Backoff::TIMERS), [3, 3, 6, 12, 24, 30, 30, 30, 30]);
        assert_eq!(Backoff::TIMERS.after(u32::MAX), Duration::from_secs(30));
    }
}
