//! Kalix's eventing actions of the counter sample: commands from a topic, events to topics.
//!
//! - `CounterCommandFromTopic` consumes `counter-commands`: `IncreaseCounter` and
//!   `MultiplyCounter` (by `ce-type`) go to the counter `counterId`; other types are skipped.
//! - `CounterJournalToTopic` publishes every event of every counter to `counter-events`:
//!   `ce-type` `ValueIncreased` or `ValueMultiplied`, body `{"value": n}`, `ce-subject` the
//!   counter's id.
//! - `CounterJournalToTopicWithMeta` publishes the same to `counter-events-with-meta`, setting
//!   `ce-subject` itself through the reply's metadata.
//! - `CounterTopicSubscription` consumes `counter-events` and logs each event.
//! - `CounterJournalToStream` publishes every event as the service stream `counter_events`;
//!   `CounterStreamSubscriber` rebuilds each counter from it, from this service's own store
//!   (or, in another copy told where this one is with `KALIX_SERVICE_EVENTSOURCED_COUNTER`,
//!   over HTTP):
//!   `GET /counter/<counter_id>/copy` -> `{"value": n, "seq": last event applied}`.
//! - `SubscribeTypeLevel` takes only the counter's `ValueIncreased` events (`ignore_unknown`):
//!   `GET /counter/<counter_id>/increases` -> `{"total": sum of increases, "seq": last counted}`.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{CounterEntity, CounterEvent};

/// Increase a counter: `{"counterId": "c1", "value": 3}`, `ce-type` `IncreaseCounter`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncreaseCounter {
    /// The counter.
    pub counter_id: String,
    /// By how much.
    pub value: i64,
}

/// Multiply a counter: `{"counterId": "c1", "value": 4}`, `ce-type` `MultiplyCounter`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultiplyCounter {
    /// The counter.
    pub counter_id: String,
    /// By what.
    pub value: i64,
}

/// Applies the commands of topic `counter-commands` to the counters.
#[derive(Default)]
pub struct CounterCommandFromTopic;

#[action]
impl CounterCommandFromTopic {
    /// `IncreaseCounter` messages.
    #[subscribe(topic = "counter-commands", ignore_unknown)]
    pub async fn on_increase(
        &self,
        command: IncreaseCounter,
        ctx: &ActionContext,
    ) -> action::Effect<String> {
        let counter = ctx
            .component_client()
            .event_sourced_entity::<CounterEntity>(command.counter_id);
        action::Effect::forward(once(counter.increase(command.value), ctx))
    }

    /// `MultiplyCounter` messages.
    #[subscribe(topic = "counter-commands", ignore_unknown)]
    pub async fn on_multiply(
        &self,
        command: MultiplyCounter,
        ctx: &ActionContext,
    ) -> action::Effect<String> {
        let counter = ctx
            .component_client()
            .event_sourced_entity::<CounterEntity>(command.counter_id);
        action::Effect::forward(once(counter.multiply(command.value), ctx))
    }
}

/// A topic message is delivered at least once (again after a crash before its offset was
/// saved): its command carries the message's `ce-id` as its idempotency key, so the counter
/// applies it once and answers a redelivery with the reply it kept.
fn once<T>(call: DeferredCall<T>, ctx: &ActionContext) -> DeferredCall<T> {
    match ctx.metadata().get(Metadata::CE_ID) {
        Some(id) => call.with_idempotency_key(format!("counter-commands/{id}")),
        None => call,
    }
}

/// Publishes every counter event to `counter-events`.
#[derive(Default)]
pub struct CounterJournalToTopic;

#[action]
impl CounterJournalToTopic {
    /// Each event, as it is.
    #[subscribe(event_sourced_entity = CounterEntity)]
    #[publish(topic = "counter-events")]
    pub async fn on_event(&self, event: CounterEvent) -> action::Effect<CounterEvent> {
        action::Effect::reply(event)
    }
}

/// Publishes every counter event to `counter-events-with-meta`, with `ce-subject` set here.
#[derive(Default)]
pub struct CounterJournalToTopicWithMeta;

#[action]
impl CounterJournalToTopicWithMeta {
    /// Each event, with the counter's id as the message's subject.
    #[subscribe(event_sourced_entity = CounterEntity)]
    #[publish(topic = "counter-events-with-meta")]
    pub async fn on_event(
        &self,
        event: CounterEvent,
        ctx: &ActionContext,
    ) -> action::Effect<CounterEvent> {
        let subject = ctx.event_subject().unwrap_or_default().to_owned();
        action::Effect::reply_with(event, Metadata::new().add(Metadata::CE_SUBJECT, subject))
    }
}

/// Logs the events of topic `counter-events`.
#[derive(Default)]
pub struct CounterTopicSubscription;

#[action]
impl CounterTopicSubscription {
    /// Any counter event.
    #[subscribe(topic = "counter-events")]
    pub async fn on_event(&self, event: CounterEvent, ctx: &ActionContext) -> action::Effect<()> {
        tracing::info!(
            counter = ctx.event_subject().unwrap_or("?"),
            ?event,
            "counter event from the topic"
        );
        action::Effect::reply(())
    }
}

/// Publishes every counter event as the service's stream `counter_events`, which other services
/// subscribe to by this service's name.
#[derive(Default)]
pub struct CounterJournalToStream;

#[action]
impl CounterJournalToStream {
    /// Each event, as it is.
    #[subscribe(event_sourced_entity = CounterEntity)]
    #[publish(stream = "counter_events")]
    pub async fn on_event(&self, event: CounterEvent) -> action::Effect<CounterEvent> {
        action::Effect::reply(event)
    }
}

/// A counter rebuilt in another service from the stream `counter_events`: its value, and the
/// sequence number of the last event applied.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct CounterCopy {
    /// The value.
    pub value: i64,
    /// The last event applied.
    pub seq: u64,
}

/// An event of the stream and its sequence number, as the subscriber hands it on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SequencedEvent {
    /// The event's sequence number in its counter's journal.
    pub seq: u64,
    /// The event.
    pub event: CounterEvent,
}

/// The copies of the counters of service `eventsourced-counter`, as its stream tells them.
#[derive(Default)]
pub struct CounterCopyEntity;

#[value_entity(type_id = "counter-copy", id = "counter_id")]
impl CounterCopyEntity {
    /// The copy.
    #[get("/counter/<counter_id>/copy")]
    pub fn get(&self, copy: &CounterCopy) -> value_entity::Effect<CounterCopy, CounterCopy> {
        value_entity::Effect::reply(*copy)
    }

    /// Applies an event; one at or below the last applied is a redelivery and changes nothing.
    #[post("/counter/<counter_id>/copy")]
    pub fn apply(
        &self,
        copy: &CounterCopy,
        #[body] next: SequencedEvent,
    ) -> value_entity::Effect<CounterCopy, CounterCopy> {
        if next.seq <= copy.seq {
            return value_entity::Effect::reply(*copy);
        }
        let value = match next.event {
            CounterEvent::ValueIncreased { value } => copy.value.saturating_add(value),
            CounterEvent::ValueMultiplied { value } => copy.value.saturating_mul(value),
        };
        let copy = CounterCopy {
            value,
            seq: next.seq,
        };
        value_entity::Effect::update_state(copy).then_reply(copy)
    }
}

/// Subscribes to the stream `counter_events` of the service `eventsourced-counter` (found at
/// `KALIX_SERVICE_EVENTSOURCED_COUNTER`) and keeps a copy of each counter.
#[derive(Default)]
pub struct CounterStreamSubscriber;

#[action]
impl CounterStreamSubscriber {
    /// An event of the other service's counter.
    #[subscribe(
        stream = "counter_events",
        service = "eventsourced-counter",
        consumer_group = "counter-copies"
    )]
    pub async fn on_event(
        &self,
        event: CounterEvent,
        ctx: &ActionContext,
    ) -> action::Effect<CounterCopy> {
        let (Some(counter_id), Some(seq)) = (ctx.event_subject(), ctx.event_sequence()) else {
            return action::Effect::error("a stream event without its subject and sequence number");
        };
        let copy = ctx
            .component_client()
            .value_entity::<CounterCopyEntity>(counter_id.to_owned());
        action::Effect::forward(copy.apply(SequencedEvent { seq, event }))
    }
}

/// The one counter event [`SubscribeTypeLevel`] takes; the others do not parse as it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Increase {
    /// The value grew by `value`.
    ValueIncreased {
        /// By how much.
        value: i64,
    },
}

/// What the increases of a counter add up to, and the last event counted.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Increases {
    /// The sum of the increases.
    pub total: i64,
    /// The sequence number of the last increase counted.
    pub seq: u64,
}

/// The increases of each counter, as [`SubscribeTypeLevel`] sees them.
#[derive(Default)]
pub struct CounterIncreasesEntity;

#[value_entity(type_id = "counter-increases", id = "counter_id")]
impl CounterIncreasesEntity {
    /// The sum so far.
    #[get("/counter/<counter_id>/increases")]
    pub fn get(&self, increases: &Increases) -> value_entity::Effect<Increases, Increases> {
        value_entity::Effect::reply(*increases)
    }

    /// Counts an increase once (a redelivery is at or below the last counted).
    #[post("/counter/<counter_id>/increases")]
    pub fn count(
        &self,
        increases: &Increases,
        #[body] next: Increases,
    ) -> value_entity::Effect<Increases, Increases> {
        if next.seq <= increases.seq {
            return value_entity::Effect::reply(*increases);
        }
        let counted = Increases {
            total: increases.total.saturating_add(next.total),
            seq: next.seq,
        };
        value_entity::Effect::update_state(counted).then_reply(counted)
    }
}

/// Kalix's type-level subscription with `ignore_unknown`: of the counter's events it takes only
/// `ValueIncreased`; the others are skipped.
#[derive(Default)]
pub struct SubscribeTypeLevel;

#[action]
impl SubscribeTypeLevel {
    /// An increase of any counter.
    #[subscribe(event_sourced_entity = CounterEntity, ignore_unknown)]
    pub async fn on_increase(
        &self,
        event: Increase,
        ctx: &ActionContext,
    ) -> action::Effect<Increases> {
        let (Some(counter_id), Some(seq)) = (ctx.event_subject(), ctx.event_sequence()) else {
            return action::Effect::error("an event without its subject and sequence number");
        };
        let Increase::ValueIncreased { value } = event;
        let increases = ctx
            .component_client()
            .value_entity::<CounterIncreasesEntity>(counter_id.to_owned());
        action::Effect::forward(increases.count(Increases { total: value, seq }))
    }
}
