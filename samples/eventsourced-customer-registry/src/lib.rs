//! The Kalix event-sourced customer registry in Rust.
//!
//! Entity `customer` (id `id`), events `CustomerCreated {email, name, address}`,
//! `NameChanged {newName}`, `AddressChanged {address}`:
//! - `POST /customer/<id>/create` body `{email, name, address}` -> `{"msg":"done"}`
//! - `POST /customer/<id>/changeName/<new_name>` -> `{"msg":"done"}`
//! - `POST /customer/<id>/changeAddress` body Address -> `{"msg":"done"}`
//! - `GET /customer/<id>` -> the Customer (404 if never created)
//!
//! Views from the events ([`views`]): `GET /customer/by_name/<name>` and
//! `GET /customer/by_email/<email>` -> streams (NDJSON) of `{email, name, address}`.
//!
//! The service stream `customer_events` ([`publishing`]): `CustomerCreated` as
//! `{email, name}` (ce-type `customer-created`), `NameChanged` as `{newName}` (ce-type
//! `name-changed`); `AddressChanged` is not published.
//!
//! Schema evolution: `CustomerCreated` was first written with flat `street` and `city`; such
//! events are stored at version 0 and [`CustomerEventMigration`] moves them into `address`.

pub mod publishing;
pub mod views;

use kalix_core::event_sourced_entity::JsonMigration;
use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Address {
    /// The street.
    pub street: String,
    /// The city.
    pub city: String,
}

/// A customer: `{email, name, address}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Customer {
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: String,
    /// Where it lives.
    pub address: Option<Address>,
}

/// What happens to a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum CustomerEvent {
    /// It was created.
    CustomerCreated {
        /// Its email.
        email: String,
        /// Its name.
        name: String,
        /// Its address.
        address: Option<Address>,
    },
    /// It was renamed.
    NameChanged {
        /// The new name.
        #[serde(rename = "newName")]
        new_name: String,
    },
    /// It moved.
    AddressChanged {
        /// The new address.
        address: Address,
    },
}

/// Version 1 of the events moved `CustomerCreated`'s flat `street` and `city` into `address`.
pub struct CustomerEventMigration;

impl JsonMigration for CustomerEventMigration {
    const CURRENT_VERSION: u32 = 1;

    fn transform(from_version: u32, mut event: Value) -> Value {
        if from_version < 1
            && let Some(created) = event
                .get_mut("CustomerCreated")
                .and_then(Value::as_object_mut)
            && !created.contains_key("address")
        {
            let street = created.remove("street");
            let city = created.remove("city");
            let address = match (street, city) {
                (Some(street), Some(city)) => json!({"street": street, "city": city}),
                _ => Value::Null,
            };
            created.insert("address".to_owned(), address);
        }
        event
    }
}

/// `{"msg": "done"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Done {
    /// Always `done`.
    pub msg: String,
}

fn done() -> Done {
    Done {
        msg: "done".to_owned(),
    }
}

/// The customer entity: `None` until created.
#[derive(Default)]
pub struct CustomerEntity;

#[event_sourced_entity(type_id = "customer", id = "id", migration = CustomerEventMigration)]
impl CustomerEntity {
    /// Creates the customer.
    #[post("/customer/<id>/create")]
    pub fn create(
        &self,
        state: &Option<Customer>,
        #[body] customer: Customer,
    ) -> event_sourced_entity::Effect<Option<Customer>, CustomerEvent, Done> {
        if state.is_some() {
            return event_sourced_entity::Effect::error("Customer exists already");
        }
        event_sourced_entity::Effect::emit_event(CustomerEvent::CustomerCreated {
            email: customer.email,
            name: customer.name,
            address: customer.address,
        })
        .then_reply(|_| done())
    }

    /// Renames the customer.
    #[post("/customer/<id>/changeName/<new_name>")]
    pub fn change_name(
        &self,
        state: &Option<Customer>,
        new_name: String,
        ctx: &EventSourcedEntityContext,
    ) -> event_sourced_entity::Effect<Option<Customer>, CustomerEvent, Done> {
        if state.is_none() {
            return not_found(ctx);
        }
        event_sourced_entity::Effect::emit_event(CustomerEvent::NameChanged { new_name })
            .then_reply(|_| done())
    }

    /// Moves the customer.
    #[post("/customer/<id>/changeAddress")]
    pub fn change_address(
        &self,
        state: &Option<Customer>,
        address: Address,
        ctx: &EventSourcedEntityContext,
    ) -> event_sourced_entity::Effect<Option<Customer>, CustomerEvent, Done> {
        if state.is_none() {
            return not_found(ctx);
        }
        event_sourced_entity::Effect::emit_event(CustomerEvent::AddressChanged { address })
            .then_reply(|_| done())
    }

    /// The customer.
    #[get("/customer/<id>")]
    pub fn get_customer(
        &self,
        state: &Option<Customer>,
        ctx: &EventSourcedEntityContext,
    ) -> event_sourced_entity::Effect<Option<Customer>, CustomerEvent, Customer> {
        match state {
            Some(customer) => event_sourced_entity::Effect::reply(customer.clone()),
            None => not_found(ctx),
        }
    }

    /// Applies an event.
    #[event_handler]
    pub fn apply(&self, state: Option<Customer>, event: &CustomerEvent) -> Option<Customer> {
        match (state, event) {
            (
                _,
                CustomerEvent::CustomerCreated {
                    email,
                    name,
                    address,
                },
            ) => Some(Customer {
                email: email.clone(),
                name: name.clone(),
                address: address.clone(),
            }),
            (Some(customer), CustomerEvent::NameChanged { new_name }) => Some(Customer {
                name: new_name.clone(),
                ..customer
            }),
            (Some(customer), CustomerEvent::AddressChanged { address }) => Some(Customer {
                address: Some(address.clone()),
                ..customer
            }),
            (None, _) => None,
        }
    }
}

fn not_found<R: Send + 'static>(
    ctx: &EventSourcedEntityContext,
) -> event_sourced_entity::Effect<Option<Customer>, CustomerEvent, R> {
    event_sourced_entity::Effect::error_with_status(
        format!("No customer found for id '{}'", ctx.entity_id()),
        ErrorCode::NOT_FOUND,
    )
}
