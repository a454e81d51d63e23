//! What `stream_updates` queries wait on: which view tables this process wrote (a generation
//! per table, so a write between two looks is never missed), and the bound on open streams.
//! A stream runs its query again only when its own table was written, a burst of writes once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::news::KeyedNews;

/// Open `stream_updates` streams at most in one process; past it a query is a 503.
pub(crate) const MAX_UPDATE_STREAMS: usize = 256;

/// After a write, how long a stream waits for more before it runs its query again.
pub(crate) const COALESCE: Duration = Duration::from_millis(50);

/// The writes of this process's view updaters, per table, and the permits of open streams.
pub(crate) struct ViewUpdates {
    tables: KeyedNews,
    open: Arc<Semaphore>,
}

impl Default for ViewUpdates {
    fn default() -> Self {
        Self {
            tables: KeyedNews::default(),
            open: Arc::new(Semaphore::new(MAX_UPDATE_STREAMS)),
        }
    }
}

impl ViewUpdates {
    /// Follows the writes to `table`: `changed()` wakes after each.
    pub(crate) fn follow(&self, table: &str) -> watch::Receiver<u64> {
        self.tables.follow(table)
    }

    /// This process wrote rows of `table`.
    pub(crate) fn wrote(&self, table: &str) {
        self.tables.wrote(table);
    }

    /// A permit for one more open stream, if there is room.
    pub(crate) fn open_stream(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.open).try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_past_the_bound_are_refused_until_one_closes() {
        let updates = ViewUpdates::default();
        let permits: Vec<_> = (0..MAX_UPDATE_STREAMS)
            .map(|_| updates.open_stream().unwrap())
            .collect();
        assert!(updates.open_stream().is_none());
        drop(permits);
        assert!(updates.open_stream().is_some());
    }
}
