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

/// The writes of this process's view updaters, per table, the permits of open streams, and
/// whether the service is stopping (open streams then end, so they do not hold its exit).
pub(crate) struct ViewUpdates {
    tables: KeyedNews,
    open: Arc<Semaphore>,
    closing: watch::Sender<bool>,
}

impl Default for ViewUpdates {
    fn default() -> Self {
        Self {
            tables: KeyedNews::default(),
            open: Arc::new(Semaphore::new(MAX_UPDATE_STREAMS)),
            closing: watch::Sender::new(false),
        }
    }
}

/// One open update stream: the writes to its tables (a join reads several), the service's
/// stop, and its permit.
pub(crate) struct Following {
    written: Vec<watch::Receiver<u64>>,
    closing: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}

impl Following {
    /// The writes so far are in the next query: only later ones call for another.
    pub(crate) fn seen(&mut self) {
        for written in &mut self.written {
            written.borrow_and_update();
        }
    }

    /// Waits until the query should run again: after a write to the table (and
    /// [`COALESCE`] for more, so a burst is one query) or `poll` (for other processes' writes).
    /// False once the service is stopping: the stream ends cleanly rather than at its grace.
    pub(crate) async fn look_again(&mut self, poll: Duration) -> bool {
        tokio::select! {
            biased;
            // An error means the service is gone: stopping too.
            _ = self.closing.wait_for(|closing| *closing) => return false,
            (changed, _, _) = futures_util::future::select_all(
                self.written.iter_mut().map(|written| Box::pin(written.changed())),
            ) => {
                if changed.is_err() {
                    return false;
                }
            }
            () = tokio::time::sleep(poll) => {}
        }
        tokio::time::sleep(COALESCE).await;
        self.seen();
        true
    }

    #[cfg(test)]
    async fn closed(&mut self) {
        while self.look_again(Duration::MAX).await {}
    }
}

impl ViewUpdates {
    /// Follows the writes to `tables` as one more open stream, if there is room and the
    /// service is not stopping.
    pub(crate) fn follow(&self, tables: &[&str]) -> Option<Following> {
        let permit = Arc::clone(&self.open).try_acquire_owned().ok()?;
        Some(Following {
            written: tables
                .iter()
                .map(|table| self.tables.follow(table))
                .collect(),
            closing: self.closing.subscribe(),
            _permit: permit,
        })
    }

    /// This process wrote rows of `table`.
    pub(crate) fn wrote(&self, table: &str) {
        self.tables.wrote(table);
    }

    /// The service is stopping: every open stream ends, after what it has to send.
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_past_the_bound_are_refused_until_one_closes() {
        let updates = ViewUpdates::default();
        let open: Vec<_> = (0..MAX_UPDATE_STREAMS)
            .map(|_| updates.follow(&["t"]).unwrap())
            .collect();
        assert!(updates.follow(&["t"]).is_none());
        drop(open);
        assert!(updates.follow(&["t"]).is_some());
    }

    #[tokio::test]
    async fn closing_ends_every_open_stream() {
        let updates = ViewUpdates::default();
        let mut open = updates.follow(&["t"]).unwrap();
        let waiting = tokio::spawn(async move { open.closed().await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        updates.close();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("an open stream sees the close")
            .unwrap();
    }
}
