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

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{CounterEntity, CounterEvent};

/// Increase a counter: `{"counterId": "c1", "value": 3}`, `ce-type` `IncreaseCounter`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncreaseCounter {
    /// The counter.
    pub counter_id: String,
    /// By how much.
    pub value: i64,
}

/// Multiply a counter: `{"counterId": "c1", "value": 4}`, `ce-type` `MultiplyCounter`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
        action::Effect::forward(counter.increase(command.value))
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
        action::Effect::forward(counter.multiply(command.value))
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
