//! The Kalix reliable-timers sample in Rust: an order expires 10 s after it is placed unless it
//! is confirmed, through a durable timer that survives restarts.
//!
//! Entity `order` (id `id`), state `Order {id, confirmed, placed, item, quantity}`:
//! - `PUT /order/<id>/place` body `{"item","quantity"}` -> the Order, placed.
//! - `POST /order/<id>/confirm` -> `"Ok"`; not placed: 404 `No order found for '<id>'`.
//! - `POST /order/<id>/cancel` -> `"Ok"` (the order returns to empty); not placed: 404
//!   `No order found for <id>`; confirmed: 400 `Cannot cancel an already confirmed order`.
//! - `GET /order/<id>` -> `{"orderId","item","quantity","confirmed"}`; not placed: 404.
//!
//! Action at `/orders` ([`OrderAction`]):
//! - `POST /orders/place` body `{"item","quantity"}`: a new order id; starts the timer
//!   `order-expiration-timer-<orderId>` (10 s) calling `POST /orders/expire/<orderId>`, then
//!   places the order; replies the Order.
//! - `POST /orders/expire/<orderId>`: cancels the order; `"Ok"`, also when it is unknown or
//!   confirmed, so the timer ends; other failures fail, and the timer calls again.
//! - `POST /orders/confirm/<orderId>`: confirms, then cancels the timer -> `"Ok"`.
//! - `POST /orders/cancel/<orderId>`: cancels the order, then the timer -> `"Ok"`.

use std::time::Duration;

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// How long an order waits for its confirmation.
pub const EXPIRY: Duration = Duration::from_secs(10);

/// What to order: `{"item","quantity"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderRequest {
    /// The item.
    pub item: String,
    /// How many.
    pub quantity: u32,
}

/// An order: empty (not `placed`) until placed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Order {
    /// Its id.
    pub id: String,
    /// Whether it was confirmed.
    pub confirmed: bool,
    /// Whether it was placed.
    pub placed: bool,
    /// The item.
    pub item: String,
    /// How many.
    pub quantity: u32,
}

/// An order as `GET /order/<id>` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatus {
    /// Its id.
    pub order_id: String,
    /// The item.
    pub item: String,
    /// How many.
    pub quantity: u32,
    /// Whether it was confirmed.
    pub confirmed: bool,
}

/// The order entity.
#[derive(Default)]
pub struct OrderEntity;

#[value_entity(type_id = "order", id = "id")]
impl OrderEntity {
    /// Places the order.
    #[put("/order/<id>/place")]
    pub fn place(
        &self,
        _order: &Order,
        #[body] request: OrderRequest,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Order, Order> {
        let order = Order {
            id: ctx.entity_id().to_owned(),
            confirmed: false,
            placed: true,
            item: request.item,
            quantity: request.quantity,
        };
        value_entity::Effect::update_state(order.clone()).then_reply(order)
    }

    /// Confirms the order.
    #[post("/order/<id>/confirm")]
    pub fn confirm(
        &self,
        order: &Order,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Order, String> {
        if !order.placed {
            return value_entity::Effect::error_with_status(
                format!("No order found for '{}'", ctx.entity_id()),
                ErrorCode::NOT_FOUND,
            );
        }
        let confirmed = Order {
            confirmed: true,
            ..order.clone()
        };
        value_entity::Effect::update_state(confirmed).then_reply("Ok".to_owned())
    }

    /// Cancels the order: it returns to empty.
    #[post("/order/<id>/cancel")]
    pub fn cancel(
        &self,
        order: &Order,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Order, String> {
        if !order.placed {
            return value_entity::Effect::error_with_status(
                format!("No order found for {}", ctx.entity_id()),
                ErrorCode::NOT_FOUND,
            );
        }
        if order.confirmed {
            return value_entity::Effect::error("Cannot cancel an already confirmed order");
        }
        value_entity::Effect::update_state(Order::default()).then_reply("Ok".to_owned())
    }

    /// The order's status.
    #[get("/order/<id>")]
    pub fn status(
        &self,
        order: &Order,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Order, OrderStatus> {
        if !order.placed {
            return value_entity::Effect::error_with_status(
                format!("No order found for '{}'", ctx.entity_id()),
                ErrorCode::NOT_FOUND,
            );
        }
        value_entity::Effect::reply(OrderStatus {
            order_id: order.id.clone(),
            item: order.item.clone(),
            quantity: order.quantity,
            confirmed: order.confirmed,
        })
    }
}

/// The name of an order's expiration timer.
pub fn timer_name(order_id: &str) -> String {
    format!("order-expiration-timer-{order_id}")
}

/// Places orders with an expiration timer, and expires, confirms or cancels them.
#[derive(Default)]
pub struct OrderAction;

#[action]
impl OrderAction {
    /// Places an order under a new id, its expiration timer started first.
    #[post("/orders/place")]
    pub async fn place(&self, request: OrderRequest, ctx: &ActionContext) -> action::Effect<Order> {
        let order_id = uuid::Uuid::new_v4().to_string();
        let client = ctx.component_client();
        let expire = client.action::<OrderAction>().expire(order_id.clone());
        if let Err(error) = ctx
            .timers()
            .start_single_timer(timer_name(&order_id), EXPIRY, expire)
            .await
        {
            return action::Effect::failed(error);
        }
        action::Effect::forward(client.value_entity::<OrderEntity>(order_id).place(request))
    }

    /// Cancels an order whose time ran out; an unknown or confirmed one is fine too, so the
    /// timer ends.
    #[post("/orders/expire/<order_id>")]
    pub async fn expire(&self, order_id: String, ctx: &ActionContext) -> action::Effect<String> {
        let cancel = ctx
            .component_client()
            .value_entity::<OrderEntity>(order_id)
            .cancel();
        match cancel.await {
            Ok(_) => action::Effect::reply("Ok".to_owned()),
            Err(error) if [400, 404].contains(&error.status()) => {
                action::Effect::reply("Ok".to_owned())
            }
            Err(error) => action::Effect::failed(error),
        }
    }

    /// Confirms an order, then cancels its timer.
    #[post("/orders/confirm/<order_id>")]
    pub async fn confirm(&self, order_id: String, ctx: &ActionContext) -> action::Effect<String> {
        let order = ctx
            .component_client()
            .value_entity::<OrderEntity>(order_id.clone());
        then_cancel_timer(order.confirm().await, &order_id, ctx).await
    }

    /// Cancels an order, then its timer.
    #[post("/orders/cancel/<order_id>")]
    pub async fn cancel(&self, order_id: String, ctx: &ActionContext) -> action::Effect<String> {
        let order = ctx
            .component_client()
            .value_entity::<OrderEntity>(order_id.clone());
        then_cancel_timer(order.cancel().await, &order_id, ctx).await
    }
}

/// After a change of the order that ends its waiting: `"Ok"` once its timer is cancelled, or
/// the error of the change or of the cancelling.
async fn then_cancel_timer(
    changed: Result<String, CallError>,
    order_id: &str,
    ctx: &ActionContext,
) -> action::Effect<String> {
    if let Err(error) = changed {
        return action::Effect::failed(error);
    }
    match ctx.timers().cancel(timer_name(order_id)).await {
        Ok(()) => action::Effect::reply("Ok".to_owned()),
        Err(error) => action::Effect::failed(error),
    }
}
