//! The Kalix value-entity counter sample in Rust: a durable counter per id, and an action that
//! increases one as a side effect.
//!
//! - `POST /counter/<counter_id>/increase` `{"value": n}` -> `{"value": new}`
//! - `PUT /counter/<counter_id>/set` `{"value": n}` -> `{"value": n}`
//! - `POST /counter/<counter_id>/plusone` -> `{"value": new}`
//! - `DELETE /counter/<counter_id>` -> `"deleted: <id>"`
//! - `GET /counter/<counter_id>` -> `{"value": n}` (0 for an unknown id)
//! - `POST /counter/<counter_id>/double-increase/<value>` -> `"ok"`, and the counter grows by
//!   `2 * value` as a side effect.
//! - `GET /counter/<counter_id>/mirror` -> `{"value": n, "deleted": false}`: what a subscription
//!   to the counter's changes saw last (`CounterChangesAction`), shortly after each change;
//!   `"deleted": true` once the counter was deleted.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// A number, as the sample's JSON: `{"value": 5}`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Number {
    /// The number.
    pub value: i64,
}

/// A durable counter.
#[derive(Default)]
pub struct CounterEntity;

#[value_entity(type_id = "counter", id = "counter_id")]
impl CounterEntity {
    /// Adds the body's value; a sum past the range of `i64` is refused with a 400.
    #[post("/counter/<counter_id>/increase")]
    pub fn increase(
        &self,
        counter: &Number,
        #[body] increase: Number,
    ) -> value_entity::Effect<Number, Number> {
        add(counter, increase.value)
    }

    /// Sets the value.
    #[put("/counter/<counter_id>/set")]
    pub fn set(
        &self,
        _counter: &Number,
        #[body] value: Number,
    ) -> value_entity::Effect<Number, Number> {
        value_entity::Effect::update_state(value).then_reply(value)
    }

    /// Adds one.
    #[post("/counter/<counter_id>/plusone")]
    pub fn plus_one(&self, counter: &Number) -> value_entity::Effect<Number, Number> {
        add(counter, 1)
    }

    /// Deletes the counter: it reads as 0 again.
    #[delete("/counter/<counter_id>")]
    pub fn delete(
        &self,
        _counter: &Number,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Number, String> {
        value_entity::Effect::delete_entity().then_reply(format!("deleted: {}", ctx.entity_id()))
    }

    /// The current value.
    #[get("/counter/<counter_id>")]
    pub fn get(&self, counter: &Number) -> value_entity::Effect<Number, Number> {
        value_entity::Effect::reply(*counter)
    }
}

/// The counter increased by `by`, or a 400 if the sum does not fit an `i64`.
fn add(counter: &Number, by: i64) -> value_entity::Effect<Number, Number> {
    match counter.value.checked_add(by) {
        Some(value) => {
            let value = Number { value };
            value_entity::Effect::update_state(value).then_reply(value)
        }
        None => value_entity::Effect::error(format!(
            "Increasing {} by {by} would overflow the counter",
            counter.value
        )),
    }
}

/// Increases a counter by twice a value, as a side effect of its reply.
#[derive(Default)]
pub struct DoubleCounterAction;

#[action]
impl DoubleCounterAction {
    /// Replies `"ok"` and increases the counter by `2 * value` afterwards.
    #[post("/counter/<counter_id>/double-increase/<value>")]
    pub async fn double_increase(
        &self,
        counter_id: String,
        value: i64,
        ctx: &ActionContext,
    ) -> action::Effect<String> {
        let Some(doubled) = value.checked_mul(2) else {
            return action::Effect::error(format!("Doubling {value} would overflow the counter"));
        };
        let increase = ctx
            .component_client()
            .value_entity::<CounterEntity>(counter_id)
            .increase(Number { value: doubled });
        action::Effect::reply("ok".to_owned()).add_side_effect(SideEffect::of(increase))
    }
}

/// What a subscriber saw last of a counter: its latest value, and whether it was deleted since.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Mirror {
    /// The counter's value at its last change (kept after a delete).
    pub value: i64,
    /// Whether the counter's last change was its delete.
    pub deleted: bool,
}

/// A copy of each counter, kept up to date by [`CounterChangesAction`] from the counter's
/// changes: the subscription's effect, visible over HTTP.
#[derive(Default)]
pub struct CounterMirrorEntity;

#[value_entity(type_id = "counter-mirror", id = "counter_id")]
impl CounterMirrorEntity {
    /// What the subscription saw last.
    #[get("/counter/<counter_id>/mirror")]
    pub fn get(&self, mirror: &Mirror) -> value_entity::Effect<Mirror, Mirror> {
        value_entity::Effect::reply(*mirror)
    }

    /// Records a change; the subscription calls it. Setting a whole value is idempotent, as a
    /// handler delivered at least once must be.
    #[put("/counter/<counter_id>/mirror")]
    pub fn record(
        &self,
        _mirror: &Mirror,
        #[body] seen: Mirror,
    ) -> value_entity::Effect<Mirror, Mirror> {
        value_entity::Effect::update_state(seen).then_reply(seen)
    }
}

/// Subscribes to every counter's changes and deletes and copies them into
/// [`CounterMirrorEntity`].
#[derive(Default)]
pub struct CounterChangesAction;

#[action]
impl CounterChangesAction {
    /// A counter's new state.
    #[subscribe(value_entity = CounterEntity)]
    pub async fn on_change(&self, counter: Number, ctx: &ActionContext) -> action::Effect<Mirror> {
        Self::record(
            ctx,
            Mirror {
                value: counter.value,
                deleted: false,
            },
        )
    }

    /// A counter's delete: the last value seen stays, marked deleted.
    #[subscribe(value_entity = CounterEntity, handle_deletes)]
    pub async fn on_delete(&self, ctx: &ActionContext) -> action::Effect<Mirror> {
        let Some(counter_id) = ctx.event_subject() else {
            return action::Effect::error("a change without a subject");
        };
        let client = ctx.component_client();
        let mirror = client.value_entity::<CounterMirrorEntity>(counter_id.to_owned());
        action::Effect::async_effect(async move {
            match mirror.get().await {
                Ok(last) => action::Effect::forward(mirror.record(Mirror {
                    deleted: true,
                    ..last
                })),
                // Failed: the same delete is delivered again.
                Err(error) => action::Effect::error(error.to_string()),
            }
        })
    }
}

impl CounterChangesAction {
    fn record(ctx: &ActionContext, seen: Mirror) -> action::Effect<Mirror> {
        let Some(counter_id) = ctx.event_subject() else {
            return action::Effect::error("a change without a subject");
        };
        let mirror = ctx
            .component_client()
            .value_entity::<CounterMirrorEntity>(counter_id.to_owned());
        action::Effect::forward(mirror.record(seen))
    }
}
