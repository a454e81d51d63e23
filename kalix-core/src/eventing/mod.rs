//! Eventing: the background driver that feeds entity changes and topic messages to the
//! `#[subscribe]` handlers of actions, and the publishing of replies to topics.
//!
//! Every consumer delivers at least once, in order (per entity for entity feeds, per topic for
//! topics), and holds a lease in the store, so on a shared store one process at a time consumes
//! each; another takes over when that one stops renewing.

mod broker;
mod delivery;
mod entity_feed;
mod nats;
mod publish;
mod stream;
mod topic;
mod topics;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

pub(crate) use broker::{Broker, EmbeddedBroker, TopicReader};
pub(crate) use nats::NatsBroker;
pub(crate) use publish::{message_of, publish};
use stream::RemoteStreamReader;
pub(crate) use stream::{
    MAX_PAGE, PAGE_WAIT, STREAMS_PATH, ServiceUrls, page, parse_offset, stream_topic,
};
pub use topics::{TopicMessages, Topics};

use crate::background::BackgroundDriver;
use crate::dispatch::Dispatcher;
use crate::registry::SubscriptionSource;
use crate::store::{FeedKind, Store};
use entity_feed::EntityConsumer;
use topic::TopicConsumer;

/// How many entries or messages a consumer reads at once.
const BATCH: usize = 256;

/// How long a consumer that found nothing new waits before it looks again.
const IDLE_POLL: Duration = Duration::from_millis(20);

/// The background driver running every subscription of the service.
pub(crate) struct Subscriptions {
    pub store: Arc<dyn Store>,
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
            let mut runs: Vec<BoxFuture<'static, ()>> = Vec::new();
            for consumer in entity_consumers(&dispatcher) {
                let run = consumer.run(
                    Arc::clone(&dispatcher),
                    Arc::clone(&self.store),
                    owner,
                    stopping.clone(),
                );
                runs.push(Box::pin(run));
            }
            for consumer in topic_consumers(&dispatcher) {
                let reader: Box<dyn TopicReader> = match consumer.service {
                    Some(service) => Box::new(RemoteStreamReader::new(
                        service,
                        consumer.topic,
                        &consumer.group,
                        self.services.clone(),
                        Arc::clone(&self.store),
                    )),
                    None => self.broker.reader(consumer.topic, &consumer.group),
                };
                let run = consumer.run(
                    Arc::clone(&dispatcher),
                    Arc::clone(&self.store),
                    Arc::clone(&self.broker),
                    reader,
                    owner,
                    stopping.clone(),
                );
                runs.push(Box::pin(run));
            }
            futures_util::future::join_all(runs).await;
        })
    }
}

/// One consumer per action and entity type.
fn entity_consumers(dispatcher: &Dispatcher) -> Vec<EntityConsumer> {
    let mut consumers: Vec<EntityConsumer> = Vec::new();
    for bound in dispatcher.handlers() {
        let Some(subscription) = bound.handler.subscription() else {
            continue;
        };
        let name = format!("{}@{}", bound.component.id, subscription.type_id);
        let index = match consumers.iter().position(|c| c.name == name) {
            Some(index) => index,
            None => {
                consumers.push(EntityConsumer {
                    name,
                    kind: match subscription.source {
                        SubscriptionSource::ValueEntity => FeedKind::StateChanges,
                        SubscriptionSource::EventSourcedEntity => FeedKind::Events,
                    },
                    type_id: subscription.type_id,
                    on_change: Vec::new(),
                    on_delete: None,
                });
                consumers.len() - 1
            }
        };
        let consumer = &mut consumers[index];
        if subscription.handles_deletes {
            consumer.on_delete = Some(bound.clone());
        } else {
            consumer.on_change.push((bound.clone(), *subscription));
        }
    }
    consumers
}

/// One consumer per action, topic (or other service's stream) and consumer group (the action's
/// id when not named).
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
