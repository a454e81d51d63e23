//! The updater of one view table fed by an entity's feed.
//!
//! Each table has one consumer, named `view:<table>`, holding a lease so that one process at a
//! time updates it. It reads its source's feed in batches, runs the update method of each entry
//! on the row as it stands (read from the table, then as the batch left it), and writes the
//! batch's rows together with its progress (feed offset, and the last sequence number of each
//! entity) in one transaction. So after a crash it resumes exactly where its last write left
//! off: each change is applied once. Sequence numbers drop what is already applied and reveal
//! events that come ahead of an earlier one of their entity (see `eventing::entity_feed`): the
//! missing ones are read from the journal first.
//!
//! An update that fails (an error effect, or a panic) is tried again with the same backoff as a
//! subscription (1 s doubling to 30 s), after the batch's earlier updates are written.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::eventing::consumer::{
    Destination, FeedSource, OneLease, Place, Sequences, Source, consume, entity_ids,
};
use crate::eventing::delivery::{Lease, Stop, pause, retry};
use crate::registry::{RowUpdate, SubscriptionSource, ViewDescriptor, ViewUpdateInput};
use crate::store::{
    ConsumerProgress, FeedEntry, FeedKind, FeedOffset, Store, StoreError, ViewRowWrite,
};

/// The updater of one view table.
pub(super) struct Updater {
    pub view: &'static ViewDescriptor,
    pub name: String,
    pub instance: Box<dyn std::any::Any + Send + Sync>,
    pub store: Arc<dyn Store>,
    pub news: Arc<tokio::sync::Notify>,
    pub updated: Arc<super::ViewUpdates>,
    /// Rebuilds an operator asked for, carried out before a read.
    pub rebuilds: Arc<super::rebuild::ViewRebuilds>,
}

/// A batch's work so far: the rows as it left them, what it wrote, and its progress.
struct Batch {
    rows: HashMap<String, Option<Bytes>>,
    writes: Vec<ViewRowWrite>,
    seqs: Sequences,
    offset: Option<FeedOffset>,
}

impl Updater {
    fn kind(&self) -> FeedKind {
        match self.view.source.kind {
            SubscriptionSource::ValueEntity => FeedKind::StateChanges,
            SubscriptionSource::EventSourcedEntity => FeedKind::Events,
        }
    }

    pub(super) async fn run(self, owner: u64, stopping: watch::Receiver<bool>) {
        let lease = Lease::new(self.name.clone(), owner, Arc::clone(&self.store));
        let source = FeedSource {
            store: Arc::clone(&self.store),
            consumer: self.name.clone(),
            kind: self.kind(),
            type_id: self.view.source.type_id,
            offset: None,
        };
        let holder = OneLease::new(lease);
        let news = Arc::clone(&self.news);
        let source = Rebuilding {
            feed: source,
            updater: &self,
            owner,
        };
        consume(&self.name, holder, source, &self, &news, stopping).await;
    }

    /// Applies a batch of entries and writes it; returns the offset reached.
    async fn apply_batch(
        &self,
        lease: &Lease,
        entries: Vec<FeedEntry>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<FeedOffset, Stop> {
        let last_offset = entries.last().map(|e| e.offset).unwrap_or_default();
        let ids = entity_ids(&entries);
        let (known, rows) = retry(&self.name, "reading the view's rows", stopping, || {
            let known = Sequences::read(&self.store, &self.name, &entries);
            let rows = self.store.view_rows(self.view.table, ids.clone());
            Box::pin(async move { Ok((known.await?, rows.await?)) })
        })
        .await?;
        let mut batch = Batch {
            rows: rows.into_iter().map(|(k, v)| (k, Some(v))).collect(),
            writes: Vec::new(),
            seqs: known,
            offset: None,
        };
        for entry in entries {
            match batch.seqs.place(self.kind(), &entry) {
                Place::Seen => {
                    batch.offset = Some(entry.offset);
                    continue;
                }
                Place::AfterGap(last) => {
                    let missing = crate::eventing::entity_feed::missing_events(
                        &self.name,
                        &self.store,
                        self.view.source.type_id,
                        &entry,
                        last,
                        stopping,
                    )
                    .await?;
                    for event in missing {
                        self.apply_entry(&mut batch, &event, lease, stopping)
                            .await?;
                    }
                }
                Place::Next => {}
            }
            self.apply_entry(&mut batch, &entry, lease, stopping)
                .await?;
            batch.offset = Some(entry.offset);
        }
        batch.offset = Some(last_offset);
        self.write(&mut batch, lease, stopping).await?;
        Ok(last_offset)
    }

    /// Runs the update of one entry until it succeeds, writing what the batch did before the
    /// first pause after a failure.
    async fn apply_entry(
        &self,
        batch: &mut Batch,
        entry: &FeedEntry,
        lease: &Lease,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let mut attempt = 0;
        loop {
            // One span per update, in the trace of the command that wrote the change.
            let span = tracing::debug_span!(
                "view.update",
                otel.name = format!("update {}", self.name),
                entity = %entry.entity_id,
            );
            if let Some(traceparent) = &entry.trace_parent {
                crate::telemetry::trace_context::adopt_parent(&span, |key| {
                    (key == crate::telemetry::trace_context::TRACEPARENT)
                        .then_some(traceparent.as_str())
                });
            }
            let updated = span.in_scope(|| self.update(batch, entry));
            match updated {
                Ok(update) => {
                    if let Some(row) = update.into_row() {
                        batch.writes.push(ViewRowWrite {
                            key: entry.entity_id.clone(),
                            row: row.clone(),
                        });
                        batch.rows.insert(entry.entity_id.clone(), row);
                    }
                    batch.seqs.processed(&entry.entity_id, entry.seq);
                    return Ok(());
                }
                Err(error) => {
                    attempt += 1;
                    if attempt == 1 {
                        self.write(batch, lease, stopping).await?;
                    }
                    let delay = Backoff::CONSUMERS.after(attempt);
                    crate::eventing::board::failed(
                        &self.name,
                        &format_args!("updating the row of {}: {error}", entry.entity_id),
                    );
                    tracing::warn!(
                        consumer = %self.name,
                        entity = %entry.entity_id,
                        seq = entry.seq,
                        attempt,
                        %error,
                        "view update failed; applying the same change again in {delay:?}"
                    );
                    pause(stopping, delay).await?;
                    if !matches!(lease.hold().await, Ok(true)) {
                        return Err(Stop::LeaseLost);
                    }
                }
            }
        }
    }

    /// What the entry does to its row.
    fn update(&self, batch: &Batch, entry: &FeedEntry) -> Result<RowUpdate, String> {
        let source = &self.view.source;
        if source.as_is {
            return Ok(match &entry.payload {
                Some(state) => RowUpdate::Set(state.clone()),
                None if source.handles_deletes => RowUpdate::Delete,
                None => RowUpdate::Keep,
            });
        }
        let deletes = entry.payload.is_none();
        let Some(handler) = self.view.updates.iter().find(|u| u.deletes == deletes) else {
            // Deletes are not handled: the row stays.
            return Ok(RowUpdate::Keep);
        };
        let row = batch
            .rows
            .get(&entry.entity_id)
            .and_then(|row| row.as_deref());
        let type_name = entry.type_name.as_deref().unwrap_or("");
        // An event written before a migration, in the current shape.
        let payload = entry
            .payload
            .as_ref()
            .map(|payload| (source.migrate)(type_name, payload));
        let input = ViewUpdateInput {
            subject: &entry.entity_id,
            event_name: entry
                .type_name
                .as_deref()
                .map(|name| crate::event_sourced_entity::split_type_name(name).0),
            payload: payload.as_deref(),
            row,
        };
        self.run_update(handler, &input)
    }

    /// Runs an update method; a panic is a failure like an error effect.
    pub(super) fn run_update(
        &self,
        handler: &crate::registry::ViewUpdateDescriptor,
        input: &ViewUpdateInput<'_>,
    ) -> Result<RowUpdate, String> {
        let instance = self.instance.as_ref();
        match std::panic::catch_unwind(AssertUnwindSafe(|| (handler.apply)(instance, input))) {
            Ok(result) => result,
            Err(panic) => {
                let error = crate::outcome::panic_error(self.view.component, handler.name, &*panic);
                Err(error.to_string())
            }
        }
    }

    /// Writes the batch's rows and progress in one transaction, retried until written.
    async fn write(
        &self,
        batch: &mut Batch,
        lease: &Lease,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let Some(offset) = batch.offset else {
            return Ok(());
        };
        // Another process may have taken the view over while this batch ran (a long store
        // outage): its updates are not written twice.
        if !matches!(lease.hold().await, Ok(true)) {
            return Err(Stop::LeaseLost);
        }
        let writes = std::mem::take(&mut batch.writes);
        let progress = ConsumerProgress {
            offset,
            seqs: batch.seqs.moved(),
        };
        let wrote = !writes.is_empty();
        commit_rows(
            &self.store,
            self.view.table,
            &self.name,
            writes,
            progress,
            lease,
            stopping,
        )
        .await?;
        if wrote {
            self.updated.wrote(self.view.table);
        }
        Ok(())
    }
}

/// Writes a batch's rows with the updater's progress, fenced by its lease: retried after a
/// store failure until written, and given up (`LeaseLost`) if another process holds the lease.
pub(super) async fn commit_rows(
    store: &Arc<dyn Store>,
    table: &'static str,
    consumer: &str,
    writes: Vec<ViewRowWrite>,
    progress: ConsumerProgress,
    lease: &Lease,
    stopping: &mut watch::Receiver<bool>,
) -> Result<(), Stop> {
    let mut attempt = 0;
    loop {
        let written = store.commit_view(
            table,
            writes.clone(),
            consumer,
            progress.clone(),
            Some(lease.owner()),
        );
        match written.await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_lease_lost() => return Err(Stop::LeaseLost),
            Err(error) => {
                attempt += 1;
                crate::eventing::delivery::failed(
                    consumer,
                    "writing the view's rows",
                    &error,
                    attempt,
                    stopping,
                )
                .await?;
            }
        }
    }
}

/// The updater's feed, carrying out a rebuild asked for before each read. The consumer reads
/// only while it holds the lease, so only the holder empties the table (and the store checks
/// that lease in the same transaction).
pub(super) struct Rebuilding<'a> {
    feed: FeedSource,
    updater: &'a Updater,
    owner: u64,
}

impl Source for Rebuilding<'_> {
    type Item = FeedEntry;
    const READING: &'static str = "reading the feed";

    fn read(&mut self) -> futures_util::future::BoxFuture<'_, Result<Vec<FeedEntry>, StoreError>> {
        Box::pin(async move {
            let table = self.updater.view.table;
            let requests = self.updater.rebuilds.take(table);
            if !requests.is_empty() {
                let name = &self.updater.name;
                let reset = self
                    .updater
                    .store
                    .reset_view(table, name, Some(self.owner))
                    .await;
                match &reset {
                    Ok(()) => {
                        tracing::warn!(
                            table,
                            "rebuilding the view from the start of its source, as an operator asked"
                        );
                        self.feed.rewind();
                        self.updater.updated.wrote(table);
                    }
                    Err(error) => tracing::warn!(table, %error, "a rebuild of the view failed"),
                }
                for request in requests {
                    let _ = request.send(reset.clone().map_err(|error| error.to_string()));
                }
                reset?;
            }
            self.feed.read().await
        })
    }

    fn rewind(&mut self) {
        self.feed.rewind();
    }
}

impl Destination<Rebuilding<'_>> for Updater {
    async fn process(
        &self,
        source: &mut Rebuilding<'_>,
        lease: &Lease,
        batch: Vec<FeedEntry>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let reached = self.apply_batch(lease, batch, stopping).await?;
        source.feed.advance(reached);
        Ok(())
    }
}
