//! Rebuilding a view table on an operator's request (the admin API): the request waits here,
//! and the table's updater, which alone writes the table and its progress, carries it out
//! before its next read: it empties the table and forgets its progress in one transaction
//! (fenced by its lease), then reads its source again from the start.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::oneshot;

/// Where one who asked for a rebuild hears how it went: `Ok` once the table was emptied.
pub(crate) type RebuildDone = oneshot::Sender<Result<(), String>>;

/// The rebuilds asked for and not yet carried out, by table.
#[derive(Default)]
pub(crate) struct ViewRebuilds {
    /// How many tables have a request waiting: the updaters' check before each read is one
    /// load while there are none.
    waiting: AtomicUsize,
    requests: Mutex<HashMap<&'static str, Vec<RebuildDone>>>,
}

impl ViewRebuilds {
    /// Asks for `table` to be rebuilt; the receiver hears when it was emptied (the updater then
    /// fills it again), or why it could not be.
    pub(crate) fn request(&self, table: &'static str) -> oneshot::Receiver<Result<(), String>> {
        let (done, heard) = oneshot::channel();
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let waiting = requests.entry(table).or_default();
        if waiting.is_empty() {
            self.waiting.fetch_add(1, Ordering::AcqRel);
        }
        waiting.push(done);
        heard
    }

    /// The requests waiting for `table`, taken (empty when there are none).
    pub(crate) fn take(&self, table: &str) -> Vec<RebuildDone> {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        match requests.remove(table) {
            Some(waiting) => {
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                waiting
            }
            None => Vec::new(),
        }
    }
}
