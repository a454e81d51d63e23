//! Kalix's view-store sample in Rust: three value entities (customers, products, orders) and a
//! view of three tables whose queries join them.
//!
//! Entities:
//! - `POST /customer/<customerId>/create` body `{"email", "name", "address": {"street", "city"}}`
//!   -> `"Ok"`; `GET /customer/<customerId>` -> that customer, or 404.
//! - `POST /product/<productId>/create` body `{"name", "price": {"currency", "units", "cents"}}`
//!   -> `"Ok"`; `PUT /product/<productId>/change-name/<newName>` -> `"Ok"`;
//!   `GET /product/<productId>` -> that product, or 404.
//! - `POST /order/<orderId>/create` body `{"productId", "customerId", "quantity"}` -> `"Ok"` (the
//!   order keeps `createdTimestamp`, milliseconds since the epoch when it was created);
//!   `GET /order/<orderId>` -> `{"orderId", "productId", "customerId", "quantity",
//!   "createdTimestamp"}`, or 404.
//!
//! Views (see [`views`]):
//! - `GET /joined-customer-orders/<customerId>` -> `{"orders": [...]}`, each order of the customer
//!   with its product and customer, by `createdTimestamp`.
//! - `GET /nested-customer-orders/<customerId>` -> the customer with `"orders": [...]`, by
//!   `createdTimestamp`; a customer without orders is a 404.
//! - `GET /customer-orders-updates/<customerId>` -> the joined orders streamed, then each new or
//!   changed one as it comes (beyond Kalix's sample).
//!
//! As in Kalix, creating again replaces what was created.

pub mod views;

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// An address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Address {
    /// The street.
    pub street: String,
    /// The city.
    pub city: String,
}

/// A customer: `{"email", "name", "address"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Customer {
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: String,
    /// Where it lives.
    pub address: Address,
}

/// A customer, `None` until created.
#[derive(Default)]
pub struct CustomerEntity;

#[value_entity(type_id = "customer", id = "customer_id")]
impl CustomerEntity {
    /// Creates (or replaces) the customer.
    #[post("/customer/<customer_id>/create")]
    pub fn create(
        &self,
        _state: &Option<Customer>,
        #[body] customer: Customer,
    ) -> value_entity::Effect<Option<Customer>, String> {
        value_entity::Effect::update_state(Some(customer)).then_reply("Ok".to_owned())
    }

    /// The customer.
    #[get("/customer/<customer_id>")]
    pub fn get(
        &self,
        state: &Option<Customer>,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Option<Customer>, Customer> {
        match state {
            Some(customer) => value_entity::Effect::reply(customer.clone()),
            None => not_found("customer", ctx),
        }
    }
}

/// A price: `{"currency", "units", "cents"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Money {
    /// The currency's code.
    pub currency: String,
    /// The whole units.
    pub units: u64,
    /// The hundredths.
    pub cents: u32,
}

/// A product: `{"name", "price"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Product {
    /// Its name.
    pub name: String,
    /// Its price.
    pub price: Money,
}

/// A product, `None` until created.
#[derive(Default)]
pub struct ProductEntity;

#[value_entity(type_id = "product", id = "product_id")]
impl ProductEntity {
    /// Creates (or replaces) the product.
    #[post("/product/<product_id>/create")]
    pub fn create(
        &self,
        _state: &Option<Product>,
        #[body] product: Product,
    ) -> value_entity::Effect<Option<Product>, String> {
        value_entity::Effect::update_state(Some(product)).then_reply("Ok".to_owned())
    }

    /// Renames the product.
    #[put("/product/<product_id>/change-name/<new_name>")]
    pub fn change_name(
        &self,
        state: &Option<Product>,
        new_name: String,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Option<Product>, String> {
        let Some(product) = state else {
            return not_found("product", ctx);
        };
        let renamed = Product {
            name: new_name,
            ..product.clone()
        };
        value_entity::Effect::update_state(Some(renamed)).then_reply("Ok".to_owned())
    }

    /// The product.
    #[get("/product/<product_id>")]
    pub fn get(
        &self,
        state: &Option<Product>,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Option<Product>, Product> {
        match state {
            Some(product) => value_entity::Effect::reply(product.clone()),
            None => not_found("product", ctx),
        }
    }
}

/// What `POST /order/<orderId>/create` takes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrder {
    /// The product ordered.
    pub product_id: String,
    /// The customer who ordered.
    pub customer_id: String,
    /// How many.
    pub quantity: u32,
}

/// An order: `{"orderId", "productId", "customerId", "quantity", "createdTimestamp"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Its id.
    pub order_id: String,
    /// The product ordered.
    pub product_id: String,
    /// The customer who ordered.
    pub customer_id: String,
    /// How many.
    pub quantity: u32,
    /// When it was created, in milliseconds since the epoch.
    pub created_timestamp: u64,
}

/// An order, `None` until created.
#[derive(Default)]
pub struct OrderEntity;

#[value_entity(type_id = "order", id = "order_id")]
impl OrderEntity {
    /// Creates (or replaces) the order, stamped with the time now.
    #[post("/order/<order_id>/create")]
    pub fn create(
        &self,
        _state: &Option<Order>,
        #[body] order: CreateOrder,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Option<Order>, String> {
        let created_timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64);
        let order = Order {
            order_id: ctx.entity_id().to_owned(),
            product_id: order.product_id,
            customer_id: order.customer_id,
            quantity: order.quantity,
            created_timestamp,
        };
        value_entity::Effect::update_state(Some(order)).then_reply("Ok".to_owned())
    }

    /// The order.
    #[get("/order/<order_id>")]
    pub fn get(
        &self,
        state: &Option<Order>,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Option<Order>, Order> {
        match state {
            Some(order) => value_entity::Effect::reply(order.clone()),
            None => not_found("order", ctx),
        }
    }
}

fn not_found<S: Send + 'static, R: Send + 'static>(
    what: &str,
    ctx: &ValueEntityContext,
) -> value_entity::Effect<S, R> {
    value_entity::Effect::error_with_status(
        format!("No {what} found for id '{}'", ctx.entity_id()),
        ErrorCode::NOT_FOUND,
    )
}
