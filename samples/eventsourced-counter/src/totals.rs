//! A view of every counter's events: `counter_totals`, one row per counter, applying each event
//! to the row as the entity applies it to its state. It is updated exactly once per event (its
//! rows and its progress are written together), so its value always catches up to the
//! entity's, never past it, also after a crash.
//!
//! - `GET /counter/<counter_id>/total` -> `{"counterId", "value", "events"}`, or 404 before the
//!   first event reached the view.
//! - `GET /counters/at_least/<min>?limit=<n>` -> the counters whose value is at least `min`,
//!   largest first, at most `n`.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{CounterEntity, CounterEvent};

/// A counter as the view keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CounterTotal {
    /// The counter's id.
    pub counter_id: String,
    /// Its value: the fold of its events.
    pub value: i64,
    /// How many events were applied.
    pub events: u64,
}

/// The view.
#[derive(Default)]
pub struct CounterTotals;

#[view(table = "counter_totals")]
impl CounterTotals {
    /// Applies one event to the counter's row.
    #[subscribe(event_sourced_entity = CounterEntity)]
    pub fn on_event(
        &self,
        row: Option<&CounterTotal>,
        event: &CounterEvent,
        ctx: &UpdateContext,
    ) -> view::Effect<CounterTotal> {
        let mut total = row.cloned().unwrap_or_else(|| CounterTotal {
            counter_id: ctx.event_subject().unwrap_or_default().to_owned(),
            ..CounterTotal::default()
        });
        total.value = match event {
            CounterEvent::ValueIncreased { value } => total.value.saturating_add(*value),
            CounterEvent::ValueMultiplied { value } => total.value.saturating_mul(*value),
        };
        total.events += 1;
        view::Effect::update_state(total)
    }

    /// One counter's row.
    #[get("/counter/<counter_id>/total")]
    #[query("SELECT * FROM counter_totals WHERE counterId = :counter_id")]
    pub fn total(&self, counter_id: String) -> CounterTotal;

    /// The counters at `min` or more, largest first.
    #[get("/counters/at_least/<min>")]
    #[query("SELECT * FROM counter_totals WHERE value >= :min ORDER BY value DESC LIMIT :limit")]
    pub fn at_least(&self, min: i64, #[query] limit: u32) -> Vec<CounterTotal>;
}
