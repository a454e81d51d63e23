//! Eventing's consumers: the background driver that feeds entity changes and topic messages to
//! the `#[subscribe]` handlers of actions (above dispatch). Where topics live, and publishing to
//! them, is `broker/` (below dispatch).
//!
//! Every consumer delivers at least once, in order (per entity for entity feeds, per topic for
//! topics), and holds a lease in the store, so on a shared store one process at a time consumes
//! each; another takes over when that one stops renewing.
//!
//! ## Eventing (how it works, and why)
//!
//! **The change feed.** Every committed state change and event is in a feed in the transaction that
//! writes it, read by entity type after an offset (`Store::read_feed`). On SQLite there is one
//! writer, so positions are commit order: events are the journal's log (`event_log.position`), and
//! a state row carries the position of its latest change (one past its type's greatest), so a
//! value entity appears in the feed once, at its latest state. On PostgreSQL a transaction can
//! commit after one that began later, so a BIGSERIAL order would let a reader pass a row that
//! commits later. Each row carries its transaction's id (`feed_tx xid8`) and a sequence number, and
//! the feed hands out only rows below `pg_snapshot_xmin(pg_current_snapshot())`, the oldest
//! transaction still running, in (transaction, position) order: no transaction that could still
//! commit is below a reader's offset. The price: an entry waits until every transaction that was
//! running when it was written has ended, anywhere in the cluster (an idle session left in a
//! transaction stalls the feed), and one entity's events can come out of order when two of its
//! appends ran in transactions whose ids are in the other order. The consumer tells that from the
//! sequence numbers: it keeps the last one it processed per entity (`consumer_seq`), drops what is
//! at or below it, and reads an entity's missing events from its journal when one arrives early.
//! SQLite's feed has one writer, so it is in commit order (`FeedStore::feed_in_commit_order`):
//! there a consumer's offset alone tells what it processed, and it keeps no sequence numbers (no
//! read before each batch, no row per entity written after it).
//! Akka Projections' timestamps and backtracking window were the other choice; the high-water mark
//! needs no clock and no window to tune. A test commits two transactions out of order and expects
//! both (`kalix-testkit/tests/it/store.rs`).
//!
//! **Consumers.** The `Subscriptions` background driver runs one consumer per action and entity
//! type, and one per action, topic and consumer group. A consumer with nothing to read waits for the
//! group committer's (or the embedded broker's) notice that something was committed, or 1 s,
//! whichever comes first: on PostgreSQL that notice is also another process's commit, heard through
//! `LISTEN`/`NOTIFY` (`Store::commit_news`), so the poll is only a safety net and an idle service
//! does next to nothing. A reader that long-polls (NATS, another service's stream) reads again at
//! once. A consumer reads a batch, runs the handler
//! for each entry in turn through the dispatcher (as any call), and saves its progress after the
//! batch and before the first pause after a failure; a failed entry is run again after 1 s, doubling
//! to 30 s, so one stuck handler holds back only its own consumer. Delivery is at least once: after a
//! crash the consumer resumes at its last save. Each consumer holds a lease in the store
//! (`Store::lease`: a row with an expiry on PostgreSQL's clock, renewed every 2 s for 6 s; SQLite
//! grants every lease, a file having one process), so on a shared database one process at a time
//! consumes it, and another takes over about 7 s after the holder dies, from the saved progress.
//! On a shared store an entity subscription is split into 4 slices by an FNV-1a hash of the entity
//! id (on SQLite, one process, into one), each its own consumer with its own lease and progress
//! (`<action>@<type>#<slice>/<slices>`), so several processes share
//! the work: every process keeps a process lease (`process:subscriptions:<id>`) and counts the live
//! ones, takes slices while it holds fewer than its fair share (4 / processes, rounded up), and hands
//! extra ones over (releasing the lease) when another process joins. Each slice reads the whole feed
//! and passes over other slices' entities, which costs reads, not deliveries. A topic has one order,
//! so a topic or stream subscription is one slice.
//!
//! **Topics.** A `Broker` publishes messages and gives a reader per topic and consumer group. The
//! embedded broker keeps topics in the store (`topic_message`, idempotent by message id, read like
//! the feed, the group's offset saved as consumer progress). NATS JetStream keeps them in a stream
//! per subject; a group reads in order from the stream sequence after the one it saved in the
//! service's store, through an ephemeral consumer, and saving after the handler's effect is its
//! acknowledgement. Why not JetStream's acknowledgements: a durable consumer redelivers what a dead
//! process held only after its ack wait, and then behind newer messages, so order per subject would
//! break at every failover; the saved position moves only with the lease. A reply of a `#[publish]`
//! handler is published before the handler's caller is answered (a failure is a 503, so a
//! subscription runs the message again); its id follows from the message processed, so the broker
//! drops a republish (`Nats-Msg-Id` on NATS, the unique id on the embedded broker). A subscription
//! to an entity's changes holds its handlers' replies and publishes a batch's in one write per topic
//! before it saves the batch's progress (`Dispatcher::invoke_holding_publication`), and after a
//! pass that caught up it gathers for `GATHER` before the next. A message's
//! `ce-type` is found by a serializer that only records whether a value is an enum variant and
//! which (`cloud_events.rs`): serde's own tag, not a guess from JSON.
//!
//! **Retention.** The `Retention` background driver (`eventing/retention.rs`) lists the
//! topics in the store (embedded topics the handlers publish or read, the service's streams) with
//! the consumer names of the local groups reading them (handlers and views), and once a minute,
//! under a lease, removes messages older than `KALIX_TOPIC_RETENTION_MS` up to the position every
//! one of those groups processed (`Store::prune_topic`, bounded rounds; `published_ms` is stamped
//! at publish). In the same pass it purges replies kept under idempotency keys longer than
//! `KALIX_IDEMPOTENCY_RETENTION`. NATS streams are made with a max age and size instead.
//!
//! **Streams between services.** A stream is a topic of the producer's store (`stream:<id>`) served
//! page by page at `/_kalix/streams/<id>`. A request at the stream's end waits for the next publish
//! to that stream (a generation per stream id, `news.rs`'s `KeyedNews`, which the view update
//! streams use per table too), holding no connection, or on a shared store looks every 250 ms;
//! each stream admits 64 readers at once and all streams 256 (503 with `Retry-After: 1` past that);
//! a page holds at most 16 MiB of bodies and a consumer halves its page size after one too large.
//! Each page carries the producer's `Store::store_id` (made once per store, in `kalix_meta`); the
//! consumer keeps its hash beside its position (`<position>#producer`), and a different one means
//! the producer's offsets started over: the position goes back to the start, then the new identity
//! is saved, so a crash between the two only repeats the rewind. `ServiceUrls::locate` says where a subscribed stream is: a
//! configured URL or `KALIX_SERVICE_<NAME>` first, then, for the service's own name, its own store
//! (the same topic, read as the embedded broker reads, under the same consumer name as over HTTP);
//! any other service without an address stops the start (`StartError::UnlocatedService`), rather
//! than a consumer warning about it forever.

pub(crate) mod board;
pub(crate) mod consumer;
pub(crate) mod delivery;
pub(crate) mod entity_feed;
mod retention;
mod topic;

pub(crate) use topic::DEAD_LETTER_SUFFIX;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

pub(crate) use retention::Retention;

use crate::background::BackgroundDriver;
use crate::broker::{Broker, ServiceUrls, TopicReader};
use crate::dispatch::Dispatcher;
use crate::registry::SubscriptionSource;
use crate::store::{FeedKind, Store};
use delivery::{ConsumerContext, LEASE_RENEW, LEASE_TTL};
use entity_feed::{EntityConsumer, Processes, SHARED_SLICES};
use topic::TopicConsumer;

/// How many entries or messages a consumer reads at once.
pub(crate) const BATCH: usize = 256;

/// How long a consumer that processed a batch short of [`BATCH`] (it caught up) waits before it
/// reads again: under a steady stream of writes it then takes tens of entries per pass, not one,
/// so its reads, progress saves and publishes (each a store round, the saves and publishes
/// writes competing with commands for the store) stay a few hundred a second whatever the write
/// rate, for at most this much more lag.
pub(crate) const GATHER: Duration = Duration::from_millis(10);

/// How long a consumer that found nothing new waits before it looks again, unless a commit or
/// publish wakes it first: this process's (the group committer's news), and on PostgreSQL any
/// process's (`LISTEN`/`NOTIFY`, see `Store::commit_news`). The poll is only a safety net, so an
/// idle service does next to nothing.
pub(crate) const IDLE_POLL: Duration = Duration::from_secs(1);

/// The background driver running every subscription of the service.
pub(crate) struct Subscriptions {
    pub store: Arc<dyn Store>,
    /// Notified when this process commits or publishes: consumers look at once.
    pub news: Arc<tokio::sync::Notify>,
    pub broker: Arc<dyn Broker>,
    /// Where the services whose streams are subscribed to are.
    pub services: ServiceUrls,
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
            let context = ConsumerContext {
                dispatcher: Arc::clone(&dispatcher),
                store: Arc::clone(&self.store),
                owner,
                news: Arc::clone(&self.news),
            };
            let mut runs: Vec<BoxFuture<'static, ()>> = Vec::new();
            let processes = Arc::new(Processes::default());
            let slices = if self.store.is_shared() {
                SHARED_SLICES
            } else {
                1
            };
            let consumers = entity_consumers(&dispatcher, &processes, slices);
            if !consumers.is_empty() {
                let heartbeat = heartbeat(
                    Arc::clone(&self.store),
                    owner,
                    Arc::clone(&processes),
                    stopping.clone(),
                );
                runs.push(Box::pin(heartbeat));
            }
            for consumer in consumers {
                let run = consumer.run(context.clone(), stopping.clone());
                runs.push(Box::pin(run));
            }
            for consumer in topic_consumers(&dispatcher) {
                let reader: Box<dyn TopicReader> = match consumer.service {
                    Some(service) => {
                        self.services
                            .reader(service, consumer.topic, &consumer.group, &self.store)
                    }
                    None => self.broker.reader(consumer.topic, &consumer.group),
                };
                let run = consumer.run(
                    context.clone(),
                    Arc::clone(&self.broker),
                    reader,
                    stopping.clone(),
                );
                runs.push(Box::pin(run));
            }
            futures_util::future::join_all(runs).await;
        })
    }
}

/// One consumer per slice of each action's subscription to an entity type.
fn entity_consumers(
    dispatcher: &Dispatcher,
    processes: &Arc<Processes>,
    slices: u32,
) -> Vec<EntityConsumer> {
    let mut consumers: Vec<EntityConsumer> = Vec::new();
    for bound in dispatcher.handlers() {
        let Some(subscription) = bound.handler.subscription() else {
            continue;
        };
        let base = format!("{}@{}", bound.component.id, subscription.type_id);
        if !consumers
            .iter()
            .any(|c| c.name.starts_with(&format!("{base}#")))
        {
            let held = Arc::new(AtomicUsize::new(0));
            for slice in 0..slices {
                consumers.push(EntityConsumer {
                    name: format!("{base}#{slice}/{slices}"),
                    slice,
                    slices,
                    held: Arc::clone(&held),
                    processes: Arc::clone(processes),
                    kind: match subscription.source {
                        SubscriptionSource::ValueEntity => FeedKind::StateChanges,
                        SubscriptionSource::EventSourcedEntity => FeedKind::Events,
                    },
                    type_id: subscription.type_id,
                    on_change: Vec::new(),
                    on_delete: None,
                });
            }
        }
        for consumer in consumers
            .iter_mut()
            .filter(|c| c.name.starts_with(&format!("{base}#")))
        {
            if subscription.handles_deletes {
                consumer.on_delete = Some(bound.clone());
            } else {
                consumer.on_change.push((bound.clone(), *subscription));
            }
        }
    }
    consumers
}

/// The prefix of the leases by which the service's processes count each other.
const PROCESS_LEASE: &str = "process:subscriptions:";

/// Keeps this process's lease alive and counts the processes alive, so that each takes its
/// share of every subscription's slices; gives the lease up when the service stops.
async fn heartbeat(
    store: Arc<dyn Store>,
    owner: u64,
    processes: Arc<Processes>,
    mut stopping: watch::Receiver<bool>,
) {
    let name = format!("{PROCESS_LEASE}{owner:016x}");
    loop {
        let alive = async {
            store.lease(&name, owner, LEASE_TTL).await?;
            store.count_leases(PROCESS_LEASE).await
        };
        match alive.await {
            Ok(alive) => processes.alive.store(alive.max(1), Ordering::Relaxed),
            Err(error) => tracing::warn!(%error, "counting the service's processes failed"),
        }
        if delivery::pause(&mut stopping, LEASE_RENEW).await.is_err() {
            let _ = store.release_lease(&name, owner).await;
            return;
        }
    }
}

/// One consumer per action, topic (or other service's stream) and consumer group (the action's
/// id when not named).
/// The services whose streams the service's subscriptions and views read.
pub(crate) fn subscribed_services(dispatcher: &Dispatcher) -> Vec<&'static str> {
    let by_handlers = topic_consumers(dispatcher)
        .into_iter()
        .filter_map(|consumer| consumer.service);
    let by_views = crate::registry::registered_views()
        .into_iter()
        .filter_map(|view| view.source.topic.and_then(|topic| topic.service));
    let mut services: Vec<&'static str> = by_handlers.chain(by_views).collect();
    services.sort_unstable();
    services.dedup();
    services
}

fn topic_consumers(dispatcher: &Dispatcher) -> Vec<TopicConsumer> {
    let mut consumers: Vec<TopicConsumer> = Vec::new();
    for bound in dispatcher.handlers() {
        let Some(subscription) = bound.handler.topic_subscription() else {
            continue;
        };
        let group = subscription
            .consumer_group
            .unwrap_or(bound.component.id)
            .to_owned();
        match consumers.iter_mut().find(|c| {
            c.service == subscription.service && c.topic == subscription.topic && c.group == group
        }) {
            Some(consumer) => consumer.handlers.push((bound.clone(), *subscription)),
            None => consumers.push(TopicConsumer {
                service: subscription.service,
                topic: subscription.topic,
                group,
                handlers: vec![(bound.clone(), *subscription)],
            }),
        }
    }
    consumers
}
