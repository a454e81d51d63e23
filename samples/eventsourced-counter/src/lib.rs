//! The Kalix event-sourced counter sample in Rust.
//!
//! - `POST /counter/<counter_id>/increase/<value>` -> the new value as a JSON string (`"10"`)
//! - `POST /counter/<counter_id>/multiply/<value>` -> the new value as a JSON string
//! - `GET /counter/<counter_id>` -> the value as a JSON string

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// The counter's events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
