//! Subscriptions: the background driver that feeds each entity change or event to the
//! `#[subscribe]` handlers of an action, at least once and in order per entity.
//!
//! Each (action, entity type) pair is one consumer with its own durable progress in the store:
//! its feed offset, and the last sequence number it processed of each entity. A consumer reads
//! the feed in batches and runs the handler for each entry in turn. A reply (or `ignore`) means
//! processed; an error or a panic means the same entry again after a pause that starts at 1 s
//! and doubles up to 30 s, so a handler that keeps failing holds back only its own consumer.
//! Progress is saved after each batch and before each pause, so after a crash a consumer resumes
//! at its last save and may deliver again what it had processed since: at least once.
//!
//! The sequence numbers drop what was processed already (an entry seen again after a restart,
//! or a value entity's older version) and reveal events that arrive ahead of an earlier one of
//! their entity (possible on PostgreSQL, see `store::postgres::feed`): the missing events are
//! read from the entity's journal and delivered first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use crate::background::BackgroundDriver;
use crate::dispatch::{BoundHandler, Dispatcher};
use crate::invocation::{Body, Invocation};
use crate::metadata::Metadata;
use crate::outcome::Outcome;
use crate::registry::SubscriptionSource;
use crate::store::{ConsumerProgress, FeedEntry, FeedKind, FeedOffset, Store, StoreError};

/// How many feed entries a consumer reads at once.
const BATCH: usize = 256;

/// How long a consumer that found nothing new waits before it looks again.
const IDLE_POLL: Duration = Duration::from_millis(20);

/// The first pause after a failed delivery, doubled after each further failure up to
/// [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long a consumer's lease lasts without renewal: on a shared store another process takes
/// the consumer over within this (plus [`LEASE_POLL`]) after its holder died.
const LEASE_TTL: Duration = Duration::from_secs(6);
/// How often the holder renews its lease.
const LEASE_RENEW: Duration = Duration::from_secs(2);
/// How often a process without the lease asks for it.
const LEASE_POLL: Duration = Duration::from_secs(1);

/// The background driver running every subscription of the service.
pub(crate) struct Subscriptions {
    pub store: Arc<dyn Store>,
}

impl Subscriptions {
    pub const NAME: &'static str = "subscriptions";
}

impl BackgroundDriver for Subscriptions {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn run(
        self: Box<Self>,
        dispatcher: Arc<Dispatcher>,
        stopping: watch::Receiver<bool>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            // This process, as the holder of consumers' leases.
            let owner = uuid::Uuid::new_v4().as_u64_pair().0;
            let consumers = consumers(&dispatcher, owner);
            let runs = consumers.into_iter().map(|consumer| {
                let (dispatcher, store, stopping) = (
                    Arc::clone(&dispatcher),
                    Arc::clone(&self.store),
                    stopping.clone(),
                );
                consumer.run(dispatcher, store, stopping)
            });
            futures_util::future::join_all(runs).await;
        })
    }
}

/// One action's subscription to one entity type.
struct Consumer {
    /// Its durable name: `<action id>@<entity type id>`.
    name: String,
    kind: FeedKind,
    type_id: &'static str,
    on_change: Option<BoundHandler>,
    on_delete: Option<BoundHandler>,
    /// This process's id as a lease holder.
    owner: u64,
    /// When the lease was last taken or renewed, while it is held.
    leased_at: std::sync::Mutex<Option<Instant>>,
}

/// The consumers of the service's subscription handlers, one per action and entity type.
fn consumers(dispatcher: &Dispatcher, owner: u64) -> Vec<Consumer> {
    let mut consumers: Vec<Consumer> = Vec::new();
    for bound in dispatcher.handlers() {
        let Some(subscription) = bound.handler.subscription() else {
            continue;
        };
        let name = format!("{}@{}", bound.component.id, subscription.type_id);
        let index = match consumers.iter().position(|c| c.name == name) {
            Some(index) => index,
            None => {
                consumers.push(Consumer {
                    name,
                    kind: match subscription.source {
                        SubscriptionSource::ValueEntity => FeedKind::StateChanges,
                        SubscriptionSource::EventSourcedEntity => FeedKind::Events,
                    },
                    type_id: subscription.type_id,
                    on_change: None,
                    on_delete: None,
                    owner,
                    leased_at: std::sync::Mutex::new(None),
                });
                consumers.len() - 1
            }
        };
        let consumer = &mut consumers[index];
        if subscription.handles_deletes {
            consumer.on_delete = Some(bound.clone());
        } else {
            consumer.on_change = Some(bound.clone());
        }
    }
    consumers
}

/// Why a consumer stopped delivering.
enum Stop {
    /// The service is stopping.
    Stopping,
    /// Another process holds the consumer's lease now.
    LeaseLost,
}

impl Consumer {
    async fn run(
        self,
        dispatcher: Arc<Dispatcher>,
        store: Arc<dyn Store>,
        mut stopping: watch::Receiver<bool>,
    ) {
        tracing::debug!(consumer = %self.name, "subscription started");
        let mut offset: Option<FeedOffset> = None;
        let mut store_failures = 0u32;
        loop {
            if *stopping.borrow() {
                return;
            }
            match self.hold_lease(&store).await {
                Ok(true) => {}
                held => {
                    if let Err(error) = held {
                        tracing::warn!(consumer = %self.name, %error, "taking the consumer's lease failed");
                    }
                    // Whoever holds it moves the offset meanwhile: read it again once taken.
                    offset = None;
                    if pause(&mut stopping, LEASE_POLL).await.is_err() {
                        return;
                    }
                    continue;
                }
            }
            let step = async {
                let after = match offset {
                    Some(offset) => offset,
                    None => {
                        store
                            .consumer_progress(&self.name, Vec::new())
                            .await?
                            .offset
                    }
                };
                offset = Some(after);
                let entries = store
                    .read_feed(self.kind, self.type_id, after, BATCH)
                    .await?;
                if entries.is_empty() {
                    return Ok::<_, StoreError>(None);
                }
                Ok(Some(entries))
            };
            let entries = match step.await {
                Ok(Some(entries)) => entries,
                Ok(None) => {
                    store_failures = 0;
                    if pause(&mut stopping, IDLE_POLL).await.is_err() {
                        return;
                    }
                    continue;
                }
                Err(error) => {
                    store_failures += 1;
                    let delay = backoff(store_failures);
                    tracing::warn!(consumer = %self.name, %error, attempt = store_failures, "reading the feed failed; trying again in {delay:?}");
                    if pause(&mut stopping, delay).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            store_failures = 0;
            match self
                .process(&dispatcher, &store, entries, &mut stopping)
                .await
            {
                Ok(Some(last)) => offset = Some(last),
                Ok(None) => {}
                Err(Stop::Stopping) => return,
                Err(Stop::LeaseLost) => {
                    tracing::info!(consumer = %self.name, "another process took the consumer over");
                    offset = None;
                }
            }
        }
    }

    /// Delivers a batch, then saves the progress; returns the offset reached.
    async fn process(
        &self,
        dispatcher: &Arc<Dispatcher>,
        store: &Arc<dyn Store>,
        entries: Vec<FeedEntry>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<Option<FeedOffset>, Stop> {
        let mut ids: Vec<String> = entries.iter().map(|e| e.entity_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let known = match store.consumer_progress(&self.name, ids).await {
            Ok(progress) => progress.seqs.into_iter().collect::<HashMap<_, _>>(),
            Err(error) => {
                tracing::warn!(consumer = %self.name, %error, "reading the consumer's progress failed; trying again");
                pause(stopping, MIN_BACKOFF).await?;
                return Ok(None);
            }
        };
        let mut progress = Progress {
            known,
            touched: HashMap::new(),
            offset: None,
        };
        for entry in entries {
            let last = progress.last_seq(&entry.entity_id);
            if entry.seq <= last {
                // Processed already (a redelivery), or an older version of a value entity's
                // state than one already delivered.
                progress.offset = Some(entry.offset);
                continue;
            }
            if self.kind == FeedKind::Events && entry.seq > last + 1 {
                for missing in self.missing_events(store, &entry, last, stopping).await? {
                    self.deliver(dispatcher, store, &missing, &progress, stopping)
                        .await?;
                    progress.processed(&missing.entity_id, missing.seq, None);
                }
            }
            self.deliver(dispatcher, store, &entry, &progress, stopping)
                .await?;
            progress.processed(&entry.entity_id, entry.seq, Some(entry.offset));
        }
        self.save(store, &progress, stopping).await?;
        Ok(progress.offset)
    }

    /// The events of `entry`'s entity after `last` and before `entry`, from its journal.
    async fn missing_events(
        &self,
        store: &Arc<dyn Store>,
        entry: &FeedEntry,
        last: u64,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<Vec<FeedEntry>, Stop> {
        let mut attempt = 0;
        loop {
            match store
                .read_events(self.type_id, &entry.entity_id, last + 1)
                .await
            {
                Ok(events) => {
                    return Ok(events
                        .into_iter()
                        .filter(|event| event.seq < entry.seq)
                        .map(|event| FeedEntry {
                            offset: entry.offset,
                            entity_id: entry.entity_id.clone(),
                            seq: event.seq,
                            type_name: Some(event.type_name),
                            payload: Some(event.payload),
                        })
                        .collect());
                }
                Err(error) => {
                    attempt += 1;
                    let delay = backoff(attempt);
                    tracing::warn!(consumer = %self.name, %error, attempt, "reading an entity's journal failed; trying again in {delay:?}");
                    pause(stopping, delay).await?;
                }
            }
        }
    }

    /// Runs the handler for one entry until it succeeds. Before each pause after a failure the
    /// progress so far is saved, so a restart does not deliver it again.
    async fn deliver(
        &self,
        dispatcher: &Arc<Dispatcher>,
        store: &Arc<dyn Store>,
        entry: &FeedEntry,
        progress: &Progress,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let (handler, body) = match &entry.payload {
            Some(payload) => (self.on_change.as_ref(), Body::Bytes(payload.clone())),
            None => (self.on_delete.as_ref(), Body::Absent),
        };
        // A change without a handler (only deletes are handled, or deletes are not) is done.
        let Some(handler) = handler else {
            return Ok(());
        };
        let mut metadata = Metadata::new()
            .add(Metadata::CE_SUBJECT, entry.entity_id.clone())
            .add(Metadata::CE_SEQUENCE, entry.seq.to_string())
            .add(
                Metadata::CE_ID,
                format!("{}:{}:{}", self.type_id, entry.entity_id, entry.seq),
            );
        if let Some(type_name) = &entry.type_name {
            metadata.set(Metadata::CE_TYPE, type_name.clone());
        }
        let mut attempt = 0u32;
        loop {
            // A long run of retries must not outlive the lease: another process may have taken
            // the consumer over, and goes on from the progress saved before the first pause.
            if !matches!(self.hold_lease(store).await, Ok(true)) {
                return Err(Stop::LeaseLost);
            }
            let invocation =
                Invocation::new(Vec::new(), Vec::new(), body.clone(), metadata.clone());
            match dispatcher.invoke(handler, invocation).await {
                Outcome::Error(error) => {
                    attempt += 1;
                    let delay = backoff(attempt);
                    tracing::warn!(
                        consumer = %self.name,
                        handler = %handler.target(),
                        entity = %entry.entity_id,
                        seq = entry.seq,
                        attempt,
                        %error,
                        "subscription handler failed; delivering the same message again in {delay:?}"
                    );
                    if attempt == 1 {
                        self.save(store, progress, stopping).await?;
                    }
                    pause(stopping, delay).await?;
                }
                Outcome::Reply { .. } | Outcome::Ignore | Outcome::Stream(_) => return Ok(()),
            }
        }
    }

    /// Saves what a batch has processed so far; retried until it is saved or the service stops.
    async fn save(
        &self,
        store: &Arc<dyn Store>,
        progress: &Progress,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let Some(offset) = progress.offset else {
            return Ok(());
        };
        let saved = ConsumerProgress {
            offset,
            seqs: progress
                .touched
                .iter()
                .map(|(id, seq)| (id.clone(), *seq))
                .collect(),
        };
        let mut attempt = 0;
        loop {
            match store
                .save_consumer_progress(&self.name, saved.clone())
                .await
            {
                Ok(()) => return Ok(()),
                Err(error) => {
                    attempt += 1;
                    let delay = backoff(attempt);
                    tracing::warn!(consumer = %self.name, %error, attempt, "saving the consumer's progress failed; trying again in {delay:?}");
                    pause(stopping, delay).await?;
                }
            }
        }
    }
}

impl Consumer {
    /// Whether this process holds the consumer's lease, taking or renewing it when due.
    async fn hold_lease(&self, store: &Arc<dyn Store>) -> Result<bool, StoreError> {
        let leased_at = *self.leased_at.lock().unwrap_or_else(|p| p.into_inner());
        if leased_at.is_some_and(|at| at.elapsed() < LEASE_RENEW) {
            return Ok(true);
        }
        let asked_at = Instant::now();
        let held = store.lease(&self.name, self.owner, LEASE_TTL).await;
        let mut leased = self.leased_at.lock().unwrap_or_else(|p| p.into_inner());
        *leased = match held {
            Ok(true) => Some(asked_at),
            _ => None,
        };
        if held == Ok(true) && leased_at.is_none() {
            tracing::info!(consumer = %self.name, "consuming (holds the lease)");
        }
        held
    }
}

/// What a batch has processed: the sequence numbers known before it, those it moved, and the
/// offset of its last processed entry.
struct Progress {
    known: HashMap<String, u64>,
    touched: HashMap<String, u64>,
    offset: Option<FeedOffset>,
}

impl Progress {
    fn last_seq(&self, entity_id: &str) -> u64 {
        self.touched
            .get(entity_id)
            .or_else(|| self.known.get(entity_id))
            .copied()
            .unwrap_or(0)
    }

    /// Records an entity's entry as processed; `offset` is `None` for an event read from the
    /// journal ahead of its place in the feed.
    fn processed(&mut self, entity_id: &str, seq: u64, offset: Option<FeedOffset>) {
        self.touched.insert(entity_id.to_owned(), seq);
        if offset.is_some() {
            self.offset = offset;
        }
    }
}

/// The pause before attempt `attempt + 1`: 1 s, doubling, at most 30 s.
fn backoff(attempt: u32) -> Duration {
    MIN_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(5))
        .min(MAX_BACKOFF)
}

/// Sleeps for `delay`, or until the service stops (then `Err`).
async fn pause(stopping: &mut watch::Receiver<bool>, delay: Duration) -> Result<(), Stop> {
    tokio::select! {
        () = tokio::time::sleep(delay) => Ok(()),
        _ = stopping.wait_for(|stopping| *stopping) => Err(Stop::Stopping),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_at_a_second_and_doubles_to_thirty() {
        let delays: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
