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
use crate::eventing::delivery::{LEASE_POLL, Lease, Stop, idle, pause, retry};
use crate::eventing::{BATCH, IDLE_POLL};
use crate::registry::{RowUpdate, SubscriptionSource, ViewDescriptor, ViewUpdateInput};
use crate::store::{ConsumerProgress, FeedEntry, FeedKind, FeedOffset, Store, ViewRowWrite};

/// The updater of one view table.
pub(super) struct Updater {
    pub view: &'static ViewDescriptor,
    pub name: String,
    pub instance: Box<dyn std::any::Any + Send + Sync>,
    pub store: Arc<dyn Store>,
    pub news: Arc<tokio::sync::Notify>,
    pub updated: Arc<super::ViewUpdates>,
}

/// A batch's work so far: the rows as it left them, what it wrote, and its progress.
struct Batch {
    rows: HashMap<String, Option<Bytes>>,
    writes: Vec<ViewRowWrite>,
    seqs: HashMap<String, u64>,
    known: HashMap<String, u64>,
    offset: Option<FeedOffset>,
}

impl Batch {
    fn last_seq(&self, entity_id: &str) -> u64 {
        self.seqs
            .get(entity_id)
            .or_else(|| self.known.get(entity_id))
            .copied()
            .unwrap_or(0)
    }
}

impl Updater {
    fn kind(&self) -> FeedKind {
        match self.view.source.kind {
            SubscriptionSource::ValueEntity => FeedKind::StateChanges,
            SubscriptionSource::EventSourcedEntity => FeedKind::Events,
        }
    }

    pub(super) async fn run(self, owner: u64, mut stopping: watch::Receiver<bool>) {
        let lease = Lease::new(self.name.clone(), owner, Arc::clone(&self.store));
        let mut offset: Option<FeedOffset> = None;
        let mut holding = false;
        loop {
            if *stopping.borrow() {
                if holding {
                    lease.release().await;
                }
                return;
            }
            if !matches!(lease.hold().await, Ok(true)) {
                holding = false;
                offset = None;
                if pause(&mut stopping, LEASE_POLL).await.is_err() {
                    return;
                }
                continue;
            }
            holding = true;
            let read = retry(
                &self.name,
                "reading the view's source",
                &mut stopping,
                || {
                    let (store, name, kind, type_id) = (
                        Arc::clone(&self.store),
                        self.name.clone(),
                        self.kind(),
                        self.view.source.type_id,
                    );
                    Box::pin(async move {
                        let after = match offset {
                            Some(offset) => offset,
                            None => store.consumer_progress(&name, Vec::new()).await?.offset,
                        };
                        let entries = store.read_feed(kind, type_id, after, BATCH).await?;
                        Ok((after, entries))
                    })
                },
            );
            let Ok((after, entries)) = read.await else {
                return;
            };
            offset = Some(after);
            if entries.is_empty() {
                if idle(&mut stopping, &self.news, IDLE_POLL).await.is_err() {
                    return;
                }
                continue;
            }
            match self.apply_batch(&lease, entries, &mut stopping).await {
                Ok(last) => offset = Some(last),
                Err(Stop::Stopping) => {
                    lease.release().await;
                    return;
                }
                Err(Stop::LeaseLost) => {
                    tracing::info!(consumer = %self.name, "another process took the view over");
                    holding = false;
                    offset = None;
                }
            }
        }
    }

    /// Applies a batch of entries and writes it; returns the offset reached.
    async fn apply_batch(
        &self,
        lease: &Lease,
        entries: Vec<FeedEntry>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<FeedOffset, Stop> {
        let last_offset = entries.last().map(|e| e.offset).unwrap_or_default();
        let mut ids: Vec<String> = entries.iter().map(|e| e.entity_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let (known, rows) = retry(&self.name, "reading the view's rows", stopping, || {
            let (store, name, table, ids) = (
                Arc::clone(&self.store),
                self.name.clone(),
                self.view.table,
                ids.clone(),
            );
            Box::pin(async move {
                let known = store.consumer_progress(&name, ids.clone()).await?;
                let rows = store.view_rows(table, ids).await?;
                Ok((known, rows))
            })
        })
        .await?;
        let mut batch = Batch {
            rows: rows.into_iter().map(|(k, v)| (k, Some(v))).collect(),
            writes: Vec::new(),
            seqs: HashMap::new(),
            known: known.seqs.into_iter().collect(),
            offset: None,
        };
        for entry in entries {
            let last = batch.last_seq(&entry.entity_id);
            if entry.seq <= last {
                batch.offset = Some(entry.offset);
                continue;
            }
            if self.kind() == FeedKind::Events && entry.seq > last + 1 {
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
            match self.update(batch, entry) {
                Ok(update) => {
                    if let Some(row) = update.into_row() {
                        batch.writes.push(ViewRowWrite {
                            key: entry.entity_id.clone(),
                            row: row.clone(),
                        });
                        batch.rows.insert(entry.entity_id.clone(), row);
                    }
                    batch.seqs.insert(entry.entity_id.clone(), entry.seq);
                    return Ok(());
                }
                Err(error) => {
                    attempt += 1;
                    if attempt == 1 {
                        self.write(batch, lease, stopping).await?;
                    }
                    let delay = Backoff::CONSUMERS.after(attempt);
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
            seqs: batch.seqs.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        };
        let wrote = !writes.is_empty();
        commit_rows(
            &self.store,
            self.view.table,
            &self.name,
            writes,
            progress.clone(),
            lease,
            stopping,
        )
        .await?;
        for (key, seq) in &progress.seqs {
            batch.known.insert(key.clone(), *seq);
        }
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
