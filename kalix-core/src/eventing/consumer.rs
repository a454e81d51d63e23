//! The one loop every consumer runs, whatever it reads and wherever it delivers: subscriptions
//! to an entity's feed or a topic deliver to handlers, view updaters apply to their table.
//!
//! The loop holds the consumer's lease (forgetting its position while another process holds
//! it, since that one moves it), reads a batch (retrying a failed read with the consumers'
//! backoff), waits for news when there is nothing new, and hands the batch to its destination,
//! which saves its progress with what it did. Losing the lease mid-batch rewinds; stopping
//! gives the lease up at once, so another process takes over without waiting for it to expire.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{Notify, watch};

use super::delivery::{LEASE_POLL, Lease, Stop, failed, idle, pause};
use super::{BATCH, GATHER, IDLE_POLL};
use crate::broker::TopicReader;
use crate::store::{FeedEntry, FeedKind, FeedOffset, Store, StoreError, StoredMessage};

/// Where a consumer reads: an entity type's feed, or a topic or stream.
pub(crate) trait Source: Send {
    /// What a batch holds: feed entries, or topic messages.
    type Item: Send;
    /// What a failed read is called in the log.
    const READING: &'static str;

    /// The next batch after the consumer's position (at most [`BATCH`]).
    fn read(&mut self) -> BoxFuture<'_, Result<Vec<Self::Item>, StoreError>>;

    /// Forgets the position in memory: it is read again from where it was saved.
    fn rewind(&mut self);

    /// Whether a read waits for news itself (no poll needed when it comes back empty).
    fn long_polls(&self) -> bool {
        false
    }
}

/// What a consumer does with a batch: delivers or applies it, then saves its progress (and
/// moves the source past it).
pub(crate) trait Destination<S: Source>: Sync {
    /// Delivers or applies `batch`, saves the progress, and moves `source` past it; a lost
    /// lease or a stopping service ends it early (`Stop`), with what was done before saved.
    fn process<'a>(
        &'a self,
        source: &'a mut S,
        lease: &'a Lease,
        batch: Vec<S::Item>,
        stopping: &'a mut watch::Receiver<bool>,
    ) -> impl Future<Output = Result<(), Stop>> + Send + 'a;
}

/// Whether this process consumes now: one lease, or a slice's lease taken only while the
/// process holds fewer slices than its share.
pub(crate) trait Holder: Send + Sync {
    /// Takes or renews the lease; `false` when another process holds it (or should).
    fn hold(&mut self) -> impl Future<Output = bool> + Send;
    /// The lease was found lost mid-batch.
    fn lost(&mut self);
    /// Gives the lease up, if held.
    fn release(&mut self) -> impl Future<Output = ()> + Send;
    /// The lease, which a destination checks before long retries and writes.
    fn lease(&self) -> &Lease;
}

/// A consumer's one lease.
pub(crate) struct OneLease {
    lease: Lease,
    holding: bool,
}

impl OneLease {
    /// `lease`, not held yet.
    pub(crate) fn new(lease: Lease) -> Self {
        Self {
            lease,
            holding: false,
        }
    }
}

impl Holder for OneLease {
    async fn hold(&mut self) -> bool {
        self.holding = matches!(self.lease.hold().await, Ok(true));
        self.holding
    }

    fn lost(&mut self) {
        self.holding = false;
    }

    async fn release(&mut self) {
        if std::mem::take(&mut self.holding) {
            self.lease.release().await;
        }
    }

    fn lease(&self) -> &Lease {
        &self.lease
    }
}

/// Runs consumer `name` until the service stops.
pub(crate) async fn consume<S: Source, D: Destination<S>>(
    name: &str,
    mut holder: impl Holder,
    mut source: S,
    destination: &D,
    news: &Notify,
    mut stopping: watch::Receiver<bool>,
) {
    let waiting = metrics::gauge!(crate::telemetry::names::CONSUMER_LAG_EVENTS, "consumer" => name.to_owned());
    let behind = metrics::gauge!(crate::telemetry::names::CONSUMER_LAG_SECONDS, "consumer" => name.to_owned());
    // Every message it has not processed was written after it was last caught up.
    let mut caught_up_at = std::time::Instant::now();
    loop {
        if *stopping.borrow() {
            holder.release().await;
            return;
        }
        let held = holder.hold().await;
        super::board::holding(name, held);
        if !held {
            // Whoever holds it moves the position meanwhile: read it again once taken.
            source.rewind();
            if pause(&mut stopping, LEASE_POLL).await.is_err() {
                return;
            }
            continue;
        }
        let mut attempt = 0;
        let batch = loop {
            match source.read().await {
                Ok(batch) => break batch,
                Err(error) => {
                    attempt += 1;
                    let failed = failed(name, S::READING, &error, attempt, &mut stopping);
                    if failed.await.is_err() {
                        holder.release().await;
                        return;
                    }
                }
            }
        };
        // Read and not processed yet: the batch (a lower bound when the batch is full).
        waiting.set(batch.len() as f64);
        if batch.is_empty() {
            caught_up_at = std::time::Instant::now();
            behind.set(0.0);
        } else {
            behind.set(caught_up_at.elapsed().as_secs_f64());
        }
        super::board::lag(
            name,
            batch.len() as u64,
            caught_up_at.elapsed().as_secs_f64(),
        );
        if batch.is_empty() {
            let wait = if source.long_polls() {
                Duration::ZERO
            } else {
                IDLE_POLL
            };
            if idle(&mut stopping, news, wait).await.is_err() {
                holder.release().await;
                return;
            }
            continue;
        }
        let caught_up = batch.len() < BATCH;
        let processed = destination
            .process(&mut source, holder.lease(), batch, &mut stopping)
            .await;
        match processed {
            Ok(()) if caught_up => {
                if pause(&mut stopping, GATHER).await.is_err() {
                    holder.release().await;
                    return;
                }
            }
            Ok(()) => {}
            Err(Stop::Stopping) => {
                holder.release().await;
                return;
            }
            Err(Stop::LeaseLost) => {
                tracing::info!(consumer = %name, "another process took the consumer over");
                holder.lost();
                source.rewind();
            }
        }
    }
}

/// An entity type's feed, read from the position the consumer saved.
pub(crate) struct FeedSource {
    pub store: Arc<dyn Store>,
    pub consumer: String,
    pub kind: FeedKind,
    pub type_id: &'static str,
    /// The position in memory; `None` reads the saved one.
    pub offset: Option<FeedOffset>,
}

impl FeedSource {
    /// Moves the position past a processed batch (whose progress the destination saved).
    pub(crate) fn advance(&mut self, to: FeedOffset) {
        self.offset = Some(to);
    }
}

impl Source for FeedSource {
    type Item = FeedEntry;
    const READING: &'static str = "reading the feed";

    fn read(&mut self) -> BoxFuture<'_, Result<Vec<FeedEntry>, StoreError>> {
        Box::pin(async move {
            let after = match self.offset {
                Some(offset) => offset,
                None => {
                    let saved = self.store.consumer_progress(&self.consumer, Vec::new());
                    saved.await?.offset
                }
            };
            self.offset = Some(after);
            let read = self.store.read_feed(self.kind, self.type_id, after, BATCH);
            read.await
        })
    }

    fn rewind(&mut self) {
        self.offset = None;
    }
}

/// A topic or stream, read by a consumer group (which keeps the position).
pub(crate) struct TopicSource(pub Box<dyn TopicReader>);

impl Source for TopicSource {
    type Item = StoredMessage;
    const READING: &'static str = "reading the topic";

    fn read(&mut self) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>> {
        self.0.read(BATCH)
    }

    fn rewind(&mut self) {
        self.0.rewind();
    }

    fn long_polls(&self) -> bool {
        self.0.long_polls()
    }
}

/// The per-entity sequence numbers of a batch of feed entries: those saved before it and those
/// it moved, so an entry seen already is dropped and a gap is filled from the journal first.
/// On a feed in commit order ([`FeedStore::feed_in_commit_order`]) none are kept: every entry
/// after the consumer's offset is new and in its entity's order.
///
/// [`FeedStore::feed_in_commit_order`]: crate::store::FeedStore::feed_in_commit_order
pub(crate) struct Sequences {
    known: HashMap<String, u64>,
    touched: HashMap<String, u64>,
    tracked: bool,
}

impl Sequences {
    /// What `consumer` saved of the entities of `entries`, read from `store` (retry it as a
    /// whole); on a feed in commit order, nothing is read and none are kept.
    pub(crate) fn read(
        store: &Arc<dyn Store>,
        consumer: &str,
        entries: &[FeedEntry],
    ) -> BoxFuture<'static, Result<Self, StoreError>> {
        if store.feed_in_commit_order() {
            return Box::pin(std::future::ready(Ok(Self::untracked())));
        }
        let saved = store.consumer_progress(consumer, entity_ids(entries));
        Box::pin(async move { Ok(Self::new(saved.await?.seqs)) })
    }

    /// The sequence numbers saved for `known` (as the store gave them).
    fn new(known: Vec<(String, u64)>) -> Self {
        Self {
            known: known.into_iter().collect(),
            touched: HashMap::new(),
            tracked: true,
        }
    }

    /// For a feed in commit order: nothing to read before a batch, nothing to save after it.
    fn untracked() -> Self {
        Self {
            known: HashMap::new(),
            touched: HashMap::new(),
            tracked: false,
        }
    }

    /// The last sequence number processed of `entity_id`: 0 for none.
    pub(crate) fn last(&self, entity_id: &str) -> u64 {
        self.touched
            .get(entity_id)
            .or_else(|| self.known.get(entity_id))
            .copied()
            .unwrap_or(0)
    }

    /// Records `seq` of `entity_id` as processed.
    pub(crate) fn processed(&mut self, entity_id: &str, seq: u64) {
        if self.tracked {
            self.touched.insert(entity_id.to_owned(), seq);
        }
    }

    /// What was moved, to save with the consumer's progress.
    pub(crate) fn moved(&self) -> Vec<(String, u64)> {
        self.touched
            .iter()
            .map(|(id, seq)| (id.clone(), *seq))
            .collect()
    }

    /// Whether `entry` comes after the last processed of its entity, and, for an event-sourced
    /// entity, whether events are missing before it (the gap is read from its journal).
    pub(crate) fn place(&self, kind: FeedKind, entry: &FeedEntry) -> Place {
        if !self.tracked {
            return Place::Next;
        }
        let last = self.last(&entry.entity_id);
        if entry.seq <= last {
            // Processed already (a redelivery), or an older version of a value entity's state
            // than one already processed.
            Place::Seen
        } else if kind == FeedKind::Events && entry.seq > last + 1 {
            Place::AfterGap(last)
        } else {
            Place::Next
        }
    }
}

/// The entity ids of `entries`, each once, sorted.
pub(crate) fn entity_ids(entries: &[FeedEntry]) -> Vec<String> {
    let mut ids: Vec<String> = entries.iter().map(|e| e.entity_id.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Where an entry stands against what its entity's consumer processed.
pub(crate) enum Place {
    Seen,
    Next,
    /// Events after this sequence number and before the entry are missing.
    AfterGap(u64),
}
