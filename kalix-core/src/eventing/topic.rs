//! The consumer of a topic for one action's `#[subscribe(topic = "..")]` handlers, in one
//! consumer group.
//!
//! A message goes to the handler whose parameter type is named by its `ce-type`, or else to the
//! one taking an enum with a variant of that name, or else (and a raw message,
//! `application/octet-stream`) to one taking bytes (`Vec<u8>`, `bytes::Bytes`). A message no handler takes is skipped when
//! the subscription says `ignore_unknown`; otherwise it, and a message whose body does not parse
//! as the type its `ce-type` names, is logged and moved to the dead-letter topic
//! `<topic>.dead-letter` (it would fail the same way every time), and the consumer goes on. So
//! is a message its handler refuses (a 400, 401, 403 or 404, such as an entity's answer to an id
//! it cannot take): the dead letter's `kalix-dead-letter-reason` says who refused it and why. A
//! handler that fails otherwise (a 5xx, a timeout, a conflict) gets the same message again, as
//! for entity subscriptions.

use std::sync::Arc;

use tokio::sync::watch;

use super::consumer::{Destination, OneLease, TopicSource, consume};
use super::delivery::{self, ConsumerContext, Lease, Message, Stop, failed, retry};
use crate::broker::{Broker, TopicReader};
use crate::cloud_events::{attribute, bytes_as_json, is_raw};
use crate::dispatch::{BoundHandler, Dispatcher};
use crate::invocation::Body;
use crate::metadata::Metadata;
use crate::registry::TopicSubscriptionDescriptor;
use crate::store::{FeedOffset, StoredMessage, TopicMessage};

/// The suffix of the topic a message no handler can take is moved to.
pub(crate) const DEAD_LETTER_SUFFIX: &str = ".dead-letter";

/// One action's handlers of one topic, in one consumer group.
pub(super) struct TopicConsumer {
    /// For another service's stream, that service.
    pub service: Option<&'static str>,
    /// The topic, or the stream's id.
    pub topic: &'static str,
    pub group: String,
    pub handlers: Vec<(BoundHandler, TopicSubscriptionDescriptor)>,
}

/// Where a message goes.
enum Route<'a> {
    Handler(&'a BoundHandler, serde_json::Value),
    /// No handler takes its type.
    Unknown,
    /// Its type names a handler's parameter, but its body is not one.
    Unreadable(&'a BoundHandler),
}

impl TopicConsumer {
    /// The group's consumer name: where its position is saved.
    pub(super) fn name(&self) -> String {
        match self.service {
            Some(service) => format!("stream:{service}:{}:{}", self.topic, self.group),
            None => format!("topic:{}:{}", self.topic, self.group),
        }
    }

    /// Where messages no handler can take go: `<topic>.dead-letter`, or for a stream
    /// `<service>.<stream>.dead-letter` on this service's broker.
    fn dead_letter_topic(&self) -> String {
        match self.service {
            Some(service) => format!("{service}.{}{DEAD_LETTER_SUFFIX}", self.topic),
            None => format!("{}{DEAD_LETTER_SUFFIX}", self.topic),
        }
    }

    fn ignores_unknown(&self) -> bool {
        self.handlers.iter().any(|(_, s)| s.ignore_unknown)
    }

    pub(super) async fn run(
        self,
        context: ConsumerContext,
        broker: Arc<dyn Broker>,
        reader: Box<dyn TopicReader>,
        stopping: watch::Receiver<bool>,
    ) {
        let name = self.name();
        let lease = Lease::new(name.clone(), context.owner, Arc::clone(&context.store));
        let news = Arc::clone(&context.news);
        let delivering = Delivering {
            consumer: self,
            dispatcher: context.dispatcher,
            broker,
        };
        let holder = OneLease::new(lease);
        consume(
            &name,
            holder,
            TopicSource(reader),
            &delivering,
            &news,
            stopping,
        )
        .await;
    }

    async fn process(
        &self,
        dispatcher: &Arc<Dispatcher>,
        broker: &dyn Broker,
        lease: &Lease,
        reader: &mut dyn TopicReader,
        messages: Vec<StoredMessage>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let name = self.name();
        let mut done: Option<FeedOffset> = None;
        for stored in messages {
            let message = &stored.message;
            let about = format!(
                "{} ({})",
                message.id,
                attribute(message, Metadata::CE_TYPE).unwrap_or("no ce-type")
            );
            match self.route(message) {
                Route::Handler(handler, body) => {
                    let delivered = Message {
                        body: Body::Value(Arc::new(body)),
                        metadata: metadata_of(message),
                    };
                    if let Err(error) = delivery::attempt(dispatcher, handler, &delivered).await {
                        // What was processed before it is not delivered again after a restart.
                        save(&name, reader, done, stopping).await?;
                        let refused = delivery::retry_until_done(
                            dispatcher,
                            handler,
                            &delivered,
                            lease,
                            stopping,
                            &about,
                            error,
                            delivery::is_refusal,
                        )
                        .await?;
                        if let Some(error) = refused {
                            let reason = format!(
                                "{} refused it: {} {}",
                                handler.target(),
                                error.status(),
                                error.description()
                            );
                            self.dead_letter(broker, message, &reason, stopping).await?;
                        }
                    }
                }
                Route::Unknown if self.ignores_unknown() => {}
                Route::Unknown => {
                    self.dead_letter(broker, message, "no handler takes its type", stopping)
                        .await?;
                }
                Route::Unreadable(handler) => {
                    let reason = format!("its body is not what {} takes", handler.target());
                    self.dead_letter(broker, message, &reason, stopping).await?;
                }
            }
            done = Some(stored.offset);
        }
        save(&name, reader, done, stopping).await
    }

    fn route(&self, message: &TopicMessage) -> Route<'_> {
        // Raw bytes, or a type no handler names, go to a handler taking bytes (Kalix's rule).
        let raw_handler = || {
            let bytes = bytes_as_json(&message.payload);
            self.handlers.iter().find_map(|(handler, subscription)| {
                ["Vec", "Bytes"]
                    .contains(&subscription.type_name)
                    .then(|| (subscription.decode)("", &bytes, false))
                    .flatten()
                    .map(|body| Route::Handler(handler, body))
            })
        };
        if is_raw(message) {
            return raw_handler().unwrap_or(Route::Unknown);
        }
        let Some(ce_type) = attribute(message, Metadata::CE_TYPE) else {
            return raw_handler().unwrap_or(Route::Unknown);
        };
        if let Some((handler, subscription)) =
            self.handlers.iter().find(|(_, s)| s.type_name == ce_type)
        {
            return match (subscription.decode)(ce_type, &message.payload, false) {
                Some(body) => Route::Handler(handler, body),
                None => Route::Unreadable(handler),
            };
        }
        self.handlers
            .iter()
            .find_map(|(handler, subscription)| {
                (subscription.decode)(ce_type, &message.payload, true)
                    .map(|body| Route::Handler(handler, body))
            })
            .or_else(raw_handler)
            .unwrap_or(Route::Unknown)
    }

    /// Logs a message no handler can take and moves it to `<topic>.dead-letter`.
    async fn dead_letter(
        &self,
        broker: &dyn Broker,
        message: &TopicMessage,
        reason: &str,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let dead_letter = self.dead_letter_topic();
        tracing::error!(
            topic = self.topic,
            message = %message.id,
            ce_type = attribute(message, Metadata::CE_TYPE).unwrap_or(""),
            reason,
            "a message no handler takes; moved to {dead_letter}"
        );
        let mut moved = message.clone();
        moved
            .attributes
            .push(("kalix-dead-letter-reason".to_owned(), reason.to_owned()));
        retry(&self.name(), "dead-lettering a message", stopping, || {
            broker.publish(&dead_letter, moved.clone())
        })
        .await?;
        metrics::counter!(crate::telemetry::names::DEAD_LETTERS, "topic" => self.topic.to_owned())
            .increment(1);
        Ok(())
    }
}

/// A topic consumer as the loop's destination: it delivers to the action's handlers.
struct Delivering {
    consumer: TopicConsumer,
    dispatcher: Arc<Dispatcher>,
    broker: Arc<dyn Broker>,
}

impl Destination<TopicSource> for Delivering {
    async fn process(
        &self,
        source: &mut TopicSource,
        lease: &Lease,
        batch: Vec<StoredMessage>,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let broker = self.broker.as_ref();
        self.consumer
            .process(
                &self.dispatcher,
                broker,
                lease,
                source.0.as_mut(),
                batch,
                stopping,
            )
            .await
    }
}

/// Saves the group's offset, if it moved.
async fn save(
    name: &str,
    reader: &mut dyn TopicReader,
    done: Option<FeedOffset>,
    stopping: &mut watch::Receiver<bool>,
) -> Result<(), Stop> {
    let Some(offset) = done else {
        return Ok(());
    };
    let mut attempt = 0;
    loop {
        match reader.processed(offset).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                attempt += 1;
                failed(
                    name,
                    "saving the consumer's offset",
                    &error,
                    attempt,
                    stopping,
                )
                .await?;
            }
        }
    }
}

/// What a handler sees of a message: its attributes as metadata (`ce-subject`, `ce-type`, ..).
fn metadata_of(message: &TopicMessage) -> Metadata {
    let mut metadata = Metadata::new();
    for (key, value) in &message.attributes {
        metadata.append(key.clone(), value.clone());
    }
    metadata
}
