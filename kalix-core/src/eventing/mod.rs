//! Eventing's consumers: the background driver that feeds entity changes and topic messages to
//! the `#[subscribe]` handlers of actions (above dispatch). Where topics live, and publishing to
//! them, is `broker/` (below dispatch).
//!
//! Every consumer delivers at least once, in order (per entity for entity feeds, per topic for
//! topics), and holds a lease in the store, so on a shared store one process at a time consumes
//! each; another takes over when that one stops renewing.

pub(crate) mod consumer;
pub(crate) mod delivery;
pub(crate) mod entity_feed;
mod retention;
mod topic;

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
