//! The updater of a view table fed by a topic or another service's stream: at least once, as in
//! Kalix. A message's row is the one keyed by its `ce-subject`; its update method is the one
//! whose parameter it parses as (by its `ce-type`). The batch's rows are written, then the
//! reader's position saved; a crash between the two applies those messages again.
//!
//! A message without a subject, or of a type no update method takes, is skipped with a log line
//! (quietly with `ignore_unknown`): one bad message must not stop the view. Such a view is not
//! rebuilt when its definition changes: it sees only the messages after its position, as Kalix
//! says of views from topics.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;

use super::updater::Updater;
use crate::backoff::Backoff;
use crate::broker::TopicReader;
use crate::cloud_events::attribute;
use crate::eventing::consumer::{Destination, OneLease, TopicSource, consume};
use crate::eventing::delivery::{Lease, Stop, pause, retry};
use crate::metadata::Metadata;
use crate::registry::{RowUpdate, ViewUpdateInput};
use crate::store::{ConsumerProgress, FeedOffset, StoredMessage, ViewRowWrite};

pub(super) async fn run(
    updater: Updater,
    reader: Box<dyn TopicReader>,
    owner: u64,
    stopping: watch::Receiver<bool>,
) {
    let lease = Lease::new(updater.name.clone(), owner, Arc::clone(&updater.store));
    let news = Arc::clone(&updater.news);
    let name = updater.name.clone();
    let applying = Applying(updater);
    let holder = OneLease::new(lease);
    consume(
        &name,
        holder,
        TopicSource(reader),
        &applying,
        &news,
        stopping,
    )
    .await;
}

/// A view updater fed by a topic, as the loop's destination.
struct Applying(Updater);

impl Destination<TopicSource> for Applying {
    async fn process(
        &self,
        source: &mut TopicSource,
        lease: &Lease,
        batch: Vec<StoredMessage>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        apply_batch(&self.0, source.0.as_mut(), lease, batch, stopping).await
    }
}

/// What a batch did so far.
struct Batch {
    rows: HashMap<String, Option<Bytes>>,
    writes: Vec<ViewRowWrite>,
    done: Option<FeedOffset>,
}

async fn apply_batch(
    updater: &Updater,
    reader: &mut dyn TopicReader,
    lease: &Lease,
    messages: Vec<StoredMessage>,
    stopping: &mut watch::Receiver<bool>,
) -> Result<(), Stop> {
    let mut subjects: Vec<String> = messages
        .iter()
        .filter_map(|m| attribute(&m.message, Metadata::CE_SUBJECT).map(str::to_owned))
        .collect();
    subjects.sort();
    subjects.dedup();
    let rows = retry(&updater.name, "reading the view's rows", stopping, || {
        updater
            .store
            .view_rows(updater.view.table, subjects.clone())
    })
    .await?;
    let mut batch = Batch {
        rows: rows.into_iter().map(|(k, v)| (k, Some(v))).collect(),
        writes: Vec::new(),
        done: None,
    };
    for stored in messages {
        let mut attempt = 0;
        loop {
            match apply(updater, &batch, &stored) {
                Ok(None) => break,
                Ok(Some((key, update))) => {
                    if let Some(row) = update.into_row() {
                        batch.writes.push(ViewRowWrite {
                            key: key.clone(),
                            row: row.clone(),
                        });
                        batch.rows.insert(key, row);
                    }
                    break;
                }
                Err(error) => {
                    attempt += 1;
                    if attempt == 1 {
                        write(updater, reader, &mut batch, lease, stopping).await?;
                    }
                    let delay = Backoff::CONSUMERS.after(attempt);
                    crate::eventing::board::failed(
                        &updater.name,
                        &format_args!("updating a row from message {}: {error}", stored.message.id),
                    );
                    tracing::warn!(consumer = %updater.name, message = %stored.message.id, attempt, %error, "view update failed; applying the same message again in {delay:?}");
                    pause(stopping, delay).await?;
                    if !matches!(lease.hold().await, Ok(true)) {
                        return Err(Stop::LeaseLost);
                    }
                }
            }
        }
        batch.done = Some(stored.offset);
    }
    write(updater, reader, &mut batch, lease, stopping).await
}

/// The row a message changes and how, or `None` if it is skipped.
fn apply(
    updater: &Updater,
    batch: &Batch,
    stored: &StoredMessage,
) -> Result<Option<(String, RowUpdate)>, String> {
    let message = &stored.message;
    let Some(subject) = attribute(message, Metadata::CE_SUBJECT) else {
        tracing::warn!(consumer = %updater.name, message = %message.id, "a message without ce-subject has no row in a view: skipped");
        return Ok(None);
    };
    let ce_type = attribute(message, Metadata::CE_TYPE).unwrap_or("");
    let found = updater.view.updates.iter().find_map(|handler| {
        let decode = handler.decode?;
        decode(ce_type, &message.payload, false)
            .or_else(|| decode(ce_type, &message.payload, true))
            .map(|value| (handler, value))
    });
    let Some((handler, value)) = found else {
        if !updater.view.updates.iter().any(|u| u.ignore_unknown) {
            tracing::warn!(consumer = %updater.name, message = %message.id, ce_type, "no update method of the view takes this message: skipped");
        }
        return Ok(None);
    };
    let payload = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    let input = ViewUpdateInput {
        subject,
        event_name: Some(ce_type),
        payload: Some(&payload),
        row: batch.rows.get(subject).and_then(|row| row.as_deref()),
    };
    let update = updater.run_update(handler, &input)?;
    Ok(Some((subject.to_owned(), update)))
}

/// Writes the batch's rows, then saves the reader's position.
async fn write(
    updater: &Updater,
    reader: &mut dyn TopicReader,
    batch: &mut Batch,
    lease: &Lease,
    stopping: &mut watch::Receiver<bool>,
) -> Result<(), Stop> {
    let Some(done) = batch.done else {
        return Ok(());
    };
    let writes = std::mem::take(&mut batch.writes);
    let wrote = !writes.is_empty();
    let progress = ConsumerProgress {
        offset: done,
        seqs: Vec::new(),
    };
    super::updater::commit_rows(
        &updater.store,
        updater.view.table,
        &updater.name,
        writes,
        progress,
        lease,
        stopping,
    )
    .await?;
    let mut attempt = 0;
    while let Err(error) = reader.processed(done).await {
        attempt += 1;
        let delay = Backoff::CONSUMERS.after(attempt);
        tracing::warn!(consumer = %updater.name, %error, "saving the topic position failed; trying again in {delay:?}");
        pause(stopping, delay).await?;
    }
    if wrote {
        updater.updated.wrote(updater.view.table);
    }
    Ok(())
}
