//! The consumer of an entity type's change feed for one action's `#[subscribe]` handlers.
//!
//! Its durable progress in the store is its feed offset and, where the feed is not in commit
//! order (PostgreSQL), the last sequence number it processed of each entity. It reads the feed
//! in batches and runs the handler for each entry in turn; progress is saved after each batch
//! and before each pause after a failure, so after a crash it resumes at its last save and may
//! deliver again what it had processed since: at least once.
//!
//! Each subscription is split into slices of entity ids (by a hash of the id), each consumed with
//! its own lease and progress, so several processes share the work: a process takes no more
//! than its fair share of slices (of the processes alive, see [`Processes`]), hands extra ones
//! over when another process joins, and takes over those of a process that stops. One entity is
//! in one slice, so its order holds.
//!
//! The sequence numbers drop what was processed already (an entry seen again after a restart,
//! or a value entity's older version) and reveal events that arrive ahead of an earlier one of
//! their entity (possible on PostgreSQL, see `store::postgres::feed`): the missing events are
//! read from the entity's journal and delivered first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::watch;

use super::consumer::{Destination, FeedSource, Holder, Place, Sequences, consume};
use super::delivery::{self, ConsumerContext, Lease, Message, Stop, retry};
use crate::dispatch::{BoundHandler, Dispatcher, Publication};
use crate::invocation::Body;
use crate::metadata::Metadata;
use crate::registry::SubscriptionDescriptor;
use crate::store::{ConsumerProgress, FeedEntry, FeedKind, FeedOffset, Store};

/// The number of slices each entity subscription is split into on a store several processes
/// share; a store of one process has one slice (nothing to share, and no reads passed over).
pub(super) const SHARED_SLICES: u32 = 4;

/// How many of the service's processes consume, and how many slices of each subscription this
/// one holds.
#[derive(Default)]
pub(super) struct Processes {
    /// Processes alive (at least 1: this one), as the store's process leases tell.
    pub alive: AtomicU64,
}

impl Processes {
    /// The most of a subscription's `slices` a process should hold.
    fn fair_share(&self, slices: u32) -> usize {
        let alive = self.alive.load(Ordering::Relaxed).max(1) as u32;
        slices.div_ceil(alive) as usize
    }
}

/// The slice (of `slices`) entity ids `entity_id` belongs to: FNV-1a of its bytes, so every
/// process and every version agrees.
pub(super) fn slice_of(entity_id: &str, slices: u32) -> u32 {
    crate::fingerprint::fingerprint32(entity_id.as_bytes()) % slices
}

/// One slice of one action's subscription to one entity type.
pub(super) struct EntityConsumer {
    /// Its durable name: `<action id>@<entity type id>#<slice>/<slices>`.
    pub name: String,
    /// Which slice of entity ids it consumes, of how many.
    pub slice: u32,
    pub slices: u32,
    /// How many slices of this subscription this process holds, across its slice consumers.
    pub held: Arc<AtomicUsize>,
    pub processes: Arc<Processes>,
    pub kind: FeedKind,
    pub type_id: &'static str,
    /// The handlers of changes or events, each with what it takes, by handler name.
    pub on_change: Vec<(BoundHandler, SubscriptionDescriptor)>,
    pub on_delete: Option<BoundHandler>,
}

impl EntityConsumer {
    pub(super) async fn run(self, context: ConsumerContext, stopping: watch::Receiver<bool>) {
        let lease = Lease::new(self.name.clone(), context.owner, Arc::clone(&context.store));
        let holder = SliceLease {
            lease,
            held: Arc::clone(&self.held),
            processes: Arc::clone(&self.processes),
            slices: self.slices,
            holding: false,
        };
        let source = FeedSource {
            store: Arc::clone(&context.store),
            consumer: self.name.clone(),
            kind: self.kind,
            type_id: self.type_id,
            offset: None,
        };
        let (name, news) = (self.name.clone(), Arc::clone(&context.news));
        let delivering = Delivering {
            consumer: self,
            context,
        };
        consume(&name, holder, source, &delivering, &news, stopping).await;
    }

    /// Delivers a batch, then saves the progress; returns the offset reached.
    async fn process(
        &self,
        dispatcher: &Arc<Dispatcher>,
        store: &Arc<dyn Store>,
        lease: &Lease,
        entries: Vec<FeedEntry>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<Option<FeedOffset>, Stop> {
        // Only this slice's entities; the others' entries are passed over.
        let last_offset = entries.last().map(|e| e.offset);
        let entries: Vec<FeedEntry> = entries
            .into_iter()
            .filter(|e| slice_of(&e.entity_id, self.slices) == self.slice)
            .collect();
        let seqs = retry(
            &self.name,
            "reading the consumer's progress",
            stopping,
            || Sequences::read(store, &self.name, &entries),
        )
        .await?;
        let mut progress = Progress {
            seqs,
            offset: None,
            held: Vec::new(),
        };
        for entry in entries {
            match progress.seqs.place(self.kind, &entry) {
                Place::Seen => {
                    progress.offset = Some(entry.offset);
                    continue;
                }
                Place::AfterGap(last) => {
                    for missing in
                        missing_events(&self.name, store, self.type_id, &entry, last, stopping)
                            .await?
                    {
                        self.deliver(dispatcher, store, lease, &missing, &mut progress, stopping)
                            .await?;
                        progress.seqs.processed(&missing.entity_id, missing.seq);
                    }
                }
                Place::Next => {}
            }
            self.deliver(dispatcher, store, lease, &entry, &mut progress, stopping)
                .await?;
            progress.seqs.processed(&entry.entity_id, entry.seq);
            progress.offset = Some(entry.offset);
        }
        progress.offset = last_offset;
        self.save(dispatcher, store, &mut progress, stopping)
            .await?;
        Ok(progress.offset)
    }

    /// Runs the handler of one entry until it succeeds; saves the batch's progress before the
    /// first pause after a failure.
    async fn deliver(
        &self,
        dispatcher: &Arc<Dispatcher>,
        store: &Arc<dyn Store>,
        lease: &Lease,
        entry: &FeedEntry,
        progress: &mut Progress,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let migrated = entry.payload.as_ref().map(|payload| {
            let migrate = self.on_change.first().map(|(_, s)| s.migrate);
            match migrate {
                // An event by its type name; a value entity's state (no type name) by its version.
                Some(migrate) => migrate(entry.type_name.as_deref().unwrap_or(""), payload),
                None => payload.clone(),
            }
        });
        let (handler, body) = match &migrated {
            Some(payload) => match self.change_handler(entry, payload) {
                Some(found) => found,
                None => return Ok(()),
            },
            None => match &self.on_delete {
                Some(handler) => (handler, Body::Absent),
                // Deletes are not handled: done.
                None => return Ok(()),
            },
        };
        // A reply to publish is held and published with the batch's others, in one write,
        // before the batch's progress is saved past it.
        let first = Message {
            body: body.clone(),
            metadata: self.metadata_of(entry),
        };
        let error = match delivery::attempt_holding_publication(dispatcher, handler, first).await {
            Ok(held) => {
                progress.held.extend(held);
                return Ok(());
            }
            Err(error) => error,
        };
        // Made again for the retries: a message delivered once (most are) is not copied.
        let message = Message {
            body,
            metadata: self.metadata_of(entry),
        };
        // What was processed before it is not delivered again after a restart.
        self.save(dispatcher, store, progress, stopping).await?;
        let about = format!("{} #{}", entry.entity_id, entry.seq);
        // An entity's change has nowhere else to go: retried until the handler takes it.
        delivery::retry_until_done(
            dispatcher,
            handler,
            &message,
            lease,
            stopping,
            &about,
            error,
            |_| false,
        )
        .await
        .map(|_| ())
    }

    /// The metadata a handler gets with `entry`: its CloudEvent attributes and the trace of the
    /// command that wrote it.
    fn metadata_of(&self, entry: &FeedEntry) -> Metadata {
        let mut metadata = Metadata::new()
            .add(Metadata::CE_SUBJECT, entry.entity_id.clone())
            .add(Metadata::CE_SEQUENCE, entry.seq.to_string())
            .add(
                Metadata::CE_ID,
                format!("{}:{}:{}", self.type_id, entry.entity_id, entry.seq),
            );
        if let Some(type_name) = &entry.type_name {
            let (type_name, _) = crate::event_sourced_entity::split_type_name(type_name);
            metadata.set(Metadata::CE_TYPE, type_name.to_owned());
        }
        // The handler's run continues the trace of the command that wrote the change.
        if let Some(traceparent) = &entry.trace_parent {
            metadata.set(
                crate::telemetry::trace_context::TRACEPARENT,
                traceparent.clone(),
            );
        }
        metadata
    }

    /// The handler of a change or event: the first whose parameter it parses as. If none takes
    /// it, it is skipped when a handler says `ignore_unknown`, and otherwise goes to the first
    /// handler as it is, which fails on it (and so it is retried and logged, not lost).
    fn change_handler<'a>(
        &'a self,
        entry: &FeedEntry,
        payload: &bytes::Bytes,
    ) -> Option<(&'a BoundHandler, Body)> {
        // One handler taking every change: nothing to choose, so its dispatch parses it once.
        if let [(handler, subscription)] = self.on_change.as_slice()
            && !subscription.ignore_unknown
        {
            return Some((handler, Body::Bytes(payload.clone())));
        }
        let type_name = entry.type_name.as_deref().unwrap_or("");
        let (type_name, _) = crate::event_sourced_entity::split_type_name(type_name);
        for (handler, subscription) in &self.on_change {
            if let Some(value) = (subscription.decode)(type_name, payload, false) {
                return Some((handler, Body::Value(Arc::new(value))));
            }
        }
        if self.on_change.iter().any(|(_, s)| s.ignore_unknown) {
            return None;
        }
        let (handler, _) = self.on_change.first()?;
        Some((handler, Body::Bytes(payload.clone())))
    }

    /// Saves what the batch has processed so far, with the replies it holds: those to the
    /// service's own store (embedded topics, streams) are appended in the transaction that saves
    /// the progress, so each is published exactly once; those to another broker (NATS) are
    /// published before it (a crash between the two delivers the entries again and publishes
    /// their replies again, under the same message ids: the broker keeps each once). Each write
    /// is retried until it is done or the service stops.
    async fn save(
        &self,
        dispatcher: &Arc<Dispatcher>,
        store: &Arc<dyn Store>,
        progress: &mut Progress,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let held = std::mem::take(&mut progress.held);
        let Some(offset) = progress.offset else {
            // Nothing to save yet (missing events delivered before the batch's first entry
            // failed): what they published is published now.
            return self.publish(dispatcher, held, stopping).await;
        };
        let (in_store, elsewhere) = dispatcher.held_in_store(held);
        self.publish(dispatcher, elsewhere, stopping).await?;
        let saved = ConsumerProgress {
            offset,
            seqs: progress.seqs.moved(),
        };
        retry(
            &self.name,
            "saving the consumer's progress",
            stopping,
            || {
                store.publish_with_progress(
                    &self.name,
                    saved.clone(),
                    Arc::clone(&in_store.appends),
                )
            },
        )
        .await?;
        dispatcher.appended(&in_store);
        Ok(())
    }

    /// Publishes `held` replies, retried until done or the service stops.
    async fn publish(
        &self,
        dispatcher: &Arc<Dispatcher>,
        held: Vec<Publication>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        if held.is_empty() {
            return Ok(());
        }
        retry(
            &self.name,
            "publishing the replies of the batch",
            stopping,
            || {
                let (dispatcher, held) = (Arc::clone(dispatcher), held.clone());
                Box::pin(async move {
                    dispatcher
                        .publish_held(held)
                        .await
                        .map_err(|error| crate::store::StoreError::new(error.to_string()))
                })
            },
        )
        .await
    }
}

/// What a batch has processed: the entities' sequence numbers, the offset of its last
/// processed entry, and the replies of `#[publish]` handlers not yet published.
struct Progress {
    seqs: Sequences,
    offset: Option<FeedOffset>,
    held: Vec<Publication>,
}

/// A slice's lease: taken while this process holds fewer slices of the subscription than its
/// fair share, renewed, and given up when it holds more.
struct SliceLease {
    lease: Lease,
    /// The slices of this subscription this process holds.
    held: Arc<AtomicUsize>,
    processes: Arc<Processes>,
    slices: u32,
    holding: bool,
}

impl Holder for SliceLease {
    async fn hold(&mut self) -> bool {
        let fair = self.processes.fair_share(self.slices);
        if self.holding {
            if self.held.load(Ordering::Relaxed) > fair {
                tracing::info!(consumer = %self.lease.name(), "handing the slice over to share the work");
                self.release().await;
                return false;
            }
            if matches!(self.lease.hold().await, Ok(true)) {
                return true;
            }
            self.lost();
            return false;
        }
        if self.held.load(Ordering::Relaxed) >= fair {
            return false;
        }
        if matches!(self.lease.hold().await, Ok(true)) {
            self.held.fetch_add(1, Ordering::Relaxed);
            self.holding = true;
            return true;
        }
        false
    }

    fn lost(&mut self) {
        if std::mem::take(&mut self.holding) {
            self.held.fetch_sub(1, Ordering::Relaxed);
        }
    }

    async fn release(&mut self) {
        if std::mem::take(&mut self.holding) {
            self.held.fetch_sub(1, Ordering::Relaxed);
            // Handed over at once, not after the lease expires.
            self.lease.release().await;
        }
    }

    fn lease(&self) -> &Lease {
        &self.lease
    }
}

/// An entity consumer as the loop's destination: it delivers to the action's handlers.
struct Delivering {
    consumer: EntityConsumer,
    context: ConsumerContext,
}

impl Destination<FeedSource> for Delivering {
    async fn process(
        &self,
        source: &mut FeedSource,
        lease: &Lease,
        batch: Vec<FeedEntry>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let ConsumerContext {
            dispatcher, store, ..
        } = &self.context;
        let reached = self
            .consumer
            .process(dispatcher, store, lease, batch, stopping)
            .await?;
        if let Some(offset) = reached {
            source.advance(offset);
        }
        Ok(())
    }
}

/// The events of `entry`'s entity after `last` and before `entry`, read from its journal (they
/// come ahead of `entry` in the feed's place): what a consumer that saw `last` of the entity
/// processes before `entry`. Retried until read or the service stops.
pub(crate) async fn missing_events(
    consumer: &str,
    store: &Arc<dyn Store>,
    type_id: &str,
    entry: &FeedEntry,
    last: u64,
    stopping: &mut watch::Receiver<bool>,
) -> Result<Vec<FeedEntry>, Stop> {
    let events = retry(consumer, "reading an entity's journal", stopping, || {
        store.read_events(type_id, &entry.entity_id, last + 1)
    })
    .await?;
    Ok(events
        .into_iter()
        .filter(|event| event.seq < entry.seq)
        .map(|event| FeedEntry {
            offset: entry.offset,
            entity_id: entry.entity_id.clone(),
            seq: event.seq,
            type_name: Some(event.type_name),
            payload: Some(event.payload),
            trace_parent: None,
        })
        .collect())
}
