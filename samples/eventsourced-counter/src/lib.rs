//! The Kalix event-sourced counter sample in Rust.
//!
//! - `POST /counter/<counter_id>/increase/<value>` -> the new value as a JSON string (`"10"`)
//! - `POST /counter/<counter_id>/multiply/<value>` -> the new value as a JSON string
//! - `GET /counter/<counter_id>` -> the value as a JSON string
//! - `GET /counter/<counter_id>/events` -> `[{"seq": 1, "event": {"ValueIncreased": {"value": 3}}}, ..]`:
//!   the counter's events as a subscription saw them (`CounterEventsAction`), shortly after each.
//!
//! Topics (see [`eventing`]): commands from `counter-commands`, every event to `counter-events`
//! and `counter-events-with-meta`.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

pub mod eventing;
pub mod totals;

/// The counter's events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum CounterEvent {
    /// The value grew by `value`.
    ValueIncreased {
        /// By how much.
        value: i64,
    },
    /// The value was multiplied by `value`.
    ValueMultiplied {
        /// By what.
        value: i64,
    },
}

/// A counter whose value is the fold of its events.
#[derive(Default)]
pub struct CounterEntity;

#[event_sourced_entity(type_id = "counter", id = "counter_id")]
impl CounterEntity {
    /// Adds `value`; a result past the range of `i64` is refused with a 400.
    #[post("/counter/<counter_id>/increase/<value>")]
    pub fn increase(
        &self,
        counter: &i64,
        value: i64,
    ) -> event_sourced_entity::Effect<i64, CounterEvent, String> {
        if counter.checked_add(value).is_none() {
            return event_sourced_entity::Effect::error(format!(
                "Increasing {counter} by {value} would overflow the counter"
            ));
        }
        event_sourced_entity::Effect::emit_event(CounterEvent::ValueIncreased { value })
            .then_reply(|counter| counter.to_string())
    }

    /// Multiplies by `value`; a result past the range of `i64` is refused with a 400.
    #[post("/counter/<counter_id>/multiply/<value>")]
    pub fn multiply(
        &self,
        counter: &i64,
        value: i64,
    ) -> event_sourced_entity::Effect<i64, CounterEvent, String> {
        if counter.checked_mul(value).is_none() {
            return event_sourced_entity::Effect::error(format!(
                "Multiplying {counter} by {value} would overflow the counter"
            ));
        }
        event_sourced_entity::Effect::emit_event(CounterEvent::ValueMultiplied { value })
            .then_reply(|counter| counter.to_string())
    }

    /// The value.
    #[get("/counter/<counter_id>")]
    pub fn get(&self, counter: &i64) -> event_sourced_entity::Effect<i64, CounterEvent, String> {
        event_sourced_entity::Effect::reply(counter.to_string())
    }

    /// Applies an event. Commands refuse events that would overflow; saturating keeps a journal
    /// written before that check replayable.
    #[event_handler]
    pub fn apply(&self, counter: i64, event: &CounterEvent) -> i64 {
        match event {
            CounterEvent::ValueIncreased { value } => counter.saturating_add(*value),
            CounterEvent::ValueMultiplied { value } => counter.saturating_mul(*value),
        }
    }
}

/// One event as the subscription saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeenEvent {
    /// Its sequence number in the counter's journal.
    pub seq: u64,
    /// The event.
    pub event: CounterEvent,
}

/// A counter's events as the subscription delivered them, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventLog {
    /// The events, by sequence number.
    pub events: Vec<SeenEvent>,
}

/// The events of each counter, in order, as [`CounterEventsAction`] delivers them.
#[derive(Default)]
pub struct CounterEventLogEntity;

#[value_entity(type_id = "counter-event-log", id = "counter_id")]
impl CounterEventLogEntity {
    /// The events seen so far.
    #[get("/counter/<counter_id>/events")]
    pub fn list(&self, log: &EventLog) -> value_entity::Effect<EventLog, Vec<SeenEvent>> {
        value_entity::Effect::reply(log.events.clone())
    }

    /// Appends an event the subscription delivers. Delivery is at least once, so an event at or
    /// below the last sequence number is one seen already and changes nothing.
    #[post("/counter/<counter_id>/events")]
    pub fn append(
        &self,
        log: &EventLog,
        #[body] seen: SeenEvent,
    ) -> value_entity::Effect<EventLog, u64> {
        if log.events.last().is_some_and(|last| last.seq >= seen.seq) {
            return value_entity::Effect::reply(seen.seq);
        }
        let seq = seen.seq;
        let mut log = log.clone();
        log.events.push(seen);
        value_entity::Effect::update_state(log).then_reply(seq)
    }
}

/// Subscribes to every counter's events and appends each to the counter's
/// [`CounterEventLogEntity`].
#[derive(Default)]
pub struct CounterEventsAction;

#[action]
impl CounterEventsAction {
    /// One event of one counter.
    #[subscribe(event_sourced_entity = CounterEntity)]
    pub async fn on_event(&self, event: CounterEvent, ctx: &ActionContext) -> action::Effect<u64> {
        let (Some(counter_id), Some(seq)) = (ctx.event_subject(), ctx.event_sequence()) else {
            return action::Effect::error("an event without its subject and sequence number");
        };
        let log = ctx
            .component_client()
            .value_entity::<CounterEventLogEntity>(counter_id.to_owned());
        action::Effect::forward(log.append(SeenEvent { seq, event }))
    }
}
