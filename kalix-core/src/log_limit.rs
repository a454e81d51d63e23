//! Logging that does not flood: a failure that repeats on every request (a full disk, a database
//! that is down, descriptors running out) is logged once per interval, with a count of the
//! occurrences left out since.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lets one occurrence of a repeated event through per interval. A call site keeps one in a
/// `static` and logs only when [`LogLimit::admit`] says so, with the count it returns.
pub(crate) struct LogLimit {
    interval_ms: u64,
    /// Milliseconds since the process epoch before which occurrences are left out (`u64::MAX`:
    /// none seen yet).
    next_ms: AtomicU64,
    left_out: AtomicU64,
}

impl LogLimit {
    pub(crate) const fn per(interval: Duration) -> Self {
        Self {
            interval_ms: interval.as_millis() as u64,
            next_ms: AtomicU64::new(0),
            left_out: AtomicU64::new(0),
        }
    }

    /// `Some(n)` if this occurrence is to be logged, `n` being how many were left out since the
    /// last one logged; `None` if it is to be left out.
    pub(crate) fn admit(&self) -> Option<u64> {
        let now = epoch().elapsed().as_millis() as u64;
        let next = self.next_ms.load(Ordering::Relaxed);
        if now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + self.interval_ms,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.left_out.swap(0, Ordering::AcqRel));
        }
        self.left_out.fetch_add(1, Ordering::Relaxed);
        None
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_occurrence_per_interval_gets_through_with_the_count_left_out() {
        let limit = LogLimit::per(Duration::from_millis(200));
        assert_eq!(limit.admit(), Some(0));
        for _ in 0..1000 {
            assert_eq!(limit.admit(), None);
        }
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(limit.admit(), Some(1000));
        assert_eq!(limit.admit(), None);
    }
}
