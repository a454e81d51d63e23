//! The Kalix value-entity customer registry in Rust: a customer entity, and views of it.
//!
//! Entity `customer` (id `customer_id`):
//! - `POST /customer/<customer_id>/create` body Customer -> `"OK"`; again: 400 `Customer exists already`.
//! - `GET /customer/<customer_id>` -> the Customer; unknown: 404 `No customer found for id '<id>'`.
//! - `POST /customer/<customer_id>/changeName/<new_name>` -> `"OK"`.
//! - `POST /customer/<customer_id>/changeAddress` body Address -> `"OK"`.
//! - `DELETE /customer/<customer_id>` -> `"OK"`.
//!
//! Views (see [`views`]):
//! - `GET /customers/by_name/<name>` -> a stream (NDJSON) of the Customers with that name.
//! - `GET /customer/by_email/<email>` -> one Customer, or 404.
//! - `GET /summary/by_name/<name>` -> one `{"id": email, "name"}`, or 404.
//! - `GET /wrapped/by_name/<name>` -> `{"customers": [...]}`.
//! - `GET /wrapped/by_city?cities=A&cities=B` -> `{"customers": [...]}` living in any of them.
//! - `GET /stream/by_name/<name>` -> `{"id": customerId, "name"}` rows now, then each new or
//!   changed one as it comes.
//! - `GET /customers/by_city/<city>/page?token=<t>` -> `{"customers": [at most 10, by name],
//!   "nextPageToken": "..", "hasMore": bool}`.
//! - `POST /customers/search` body `{"name", "city"}` -> `{"customers": [...]}` (beyond Kalix's
//!   sample: query parameters from a body).

pub mod views;

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// A customer, as its JSON: `{"customerId","email","name","address"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Its id.
    pub customer_id: String,
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: String,
    /// Where it lives, if known.
    pub address: Option<Address>,
}

/// An address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Address {
    /// The street.
    pub street: String,
    /// The city.
    pub city: String,
}

/// A customer: empty (no `customerId`) until created.
#[derive(Default)]
pub struct CustomerEntity;

#[value_entity(type_id = "customer", id = "customer_id")]
impl CustomerEntity {
    /// Creates the customer; once only.
    #[post("/customer/<customer_id>/create")]
    pub fn create(
        &self,
        state: &Customer,
        #[body] customer: Customer,
    ) -> value_entity::Effect<Customer, String> {
        if !state.customer_id.is_empty() {
            return value_entity::Effect::error("Customer exists already");
        }
        value_entity::Effect::update_state(customer).then_reply("OK".to_owned())
    }

    /// The customer.
    #[get("/customer/<customer_id>")]
    pub fn get_customer(
        &self,
        state: &Customer,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Customer, Customer> {
        if state.customer_id.is_empty() {
            return not_found(ctx);
        }
        value_entity::Effect::reply(state.clone())
    }

    /// Renames the customer.
    #[post("/customer/<customer_id>/changeName/<new_name>")]
    pub fn change_name(
        &self,
        state: &Customer,
        new_name: String,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Customer, String> {
        if state.customer_id.is_empty() {
            return not_found(ctx);
        }
        let renamed = Customer {
            name: new_name,
            ..state.clone()
        };
        value_entity::Effect::update_state(renamed).then_reply("OK".to_owned())
    }

    /// Moves the customer.
    #[post("/customer/<customer_id>/changeAddress")]
    pub fn change_address(
        &self,
        state: &Customer,
        address: Address,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<Customer, String> {
        if state.customer_id.is_empty() {
            return not_found(ctx);
        }
        let moved = Customer {
            address: Some(address),
            ..state.clone()
        };
        value_entity::Effect::update_state(moved).then_reply("OK".to_owned())
    }

    /// Deletes the customer.
    #[delete("/customer/<customer_id>")]
    pub fn delete(&self, _state: &Customer) -> value_entity::Effect<Customer, String> {
        value_entity::Effect::delete_entity().then_reply("OK".to_owned())
    }
}

fn not_found<R: Send + 'static>(ctx: &ValueEntityContext) -> value_entity::Effect<Customer, R> {
    value_entity::Effect::error_with_status(
        format!("No customer found for id '{}'", ctx.entity_id()),
        ErrorCode::NOT_FOUND,
    )
}
