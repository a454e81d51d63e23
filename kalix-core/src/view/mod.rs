//! Views: tables kept up to date from entity changes and events, read with queries checked at
//! compile time.
//!
//! A view is a type with a `#[view(table = "..")]` `impl` block. Its table has a row type and
//! one source:
//! - a value entity's state as it is: `#[subscribe(value_entity = E)]` on the `impl` block (with
//!   `handle_deletes` the row goes when the entity is deleted);
//! - a value entity transformed: a method with `#[subscribe(value_entity = E)]` taking `&State`,
//!   and one with `#[subscribe(value_entity = E, handle_deletes)]` taking nothing;
//! - an event-sourced entity's events: a method with `#[subscribe(event_sourced_entity = E)]`
//!   taking the event (and, if it wants, the current row as `Option<&Row>`).
//!
//! A view of several tables is a bare `#[view]` whose update methods each name the table they
//! write, `#[table("orders")]`; its queries join them (`FROM customers AS c JOIN orders AS o ON
//! o.customerId = c.customerId`), each column named by its table. See the guide's views chapter.
//!
//! Update methods return an [`Effect`]: [`Effect::update_state`], [`Effect::delete_state`],
//! [`Effect::ignore`] or [`Effect::error`] (the same update is tried again, as a failing
//! subscription is). A row is keyed by its source entity's id.
//!
//! Query methods carry a route and a `#[query("SELECT ..")]` and have no body: the runtime
//! runs the query. Their return type says what the caller gets: one row (none is a 404, as in
//! Kalix), a `Vec` of rows, a wrapper struct (`SELECT * AS customers`), or a
//! [`QueryStream`] (NDJSON, or server-sent events on `Accept: text/event-stream`).
//!
//! ```
//! use kalix_core::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Default, Serialize, Deserialize)]
//! pub struct Customer {
//!     pub email: String,
//!     pub name: String,
//! }
//!
//! #[derive(Default)]
//! pub struct CustomerEntity;
//!
//! #[value_entity(type_id = "customer", id = "customer_id")]
//! impl CustomerEntity {
//!     #[put("/customer/<customer_id>")]
//!     fn create(&self, _state: &Customer, #[body] customer: Customer) -> value_entity::Effect<Customer, String> {
//!         value_entity::Effect::update_state(customer).then_reply("OK".to_owned())
//!     }
//! }
//!
//! #[derive(Default)]
//! pub struct CustomersByEmail;
//!
//! #[view(table = "customers_by_email")]
//! #[subscribe(value_entity = CustomerEntity, handle_deletes)]
//! impl CustomersByEmail {
//!     #[get("/customers/by_email/<email>")]
//!     #[query("SELECT * FROM customers_by_email WHERE email = :email")]
//!     fn by_email(&self, email: String) -> Customer;
//! }
//! ```
//!
//! ## Delivery
//! A view's updates and its progress in the source's feed are written in one transaction, so
//! each change is applied exactly once, across restarts and crashes. One process at a time
//! updates a view (a lease in the store); every process serves its queries.
//!
//! ## Changing a view
//! The store keeps a fingerprint of each table's definition (its source, row type and
//! queries). When it changes, the table is emptied at start and rebuilt from the source's
//! feed; until it has caught up, queries answer from the rows rebuilt so far.

pub(crate) mod driver;
mod effect;
mod key_order;
#[doc(hidden)]
pub mod private;
pub mod query;
pub(crate) mod rebuild;
pub(crate) mod serve;
#[doc(hidden)]
pub mod shape;
pub(crate) mod sql;
mod topic_updater;
mod updater;
mod updates;

use std::marker::PhantomData;

pub use effect::{Effect, UpdateContext};
pub(crate) use updates::ViewUpdates;

/// A view row's JSON with each NUL character in its strings as U+FFFD: what every store keeps,
/// as PostgreSQL cannot keep NUL.
pub(crate) fn without_nul(row: bytes::Bytes) -> bytes::Bytes {
    // The escape is how serde_json writes a NUL: only then is the row parsed.
    if !row.windows(6).any(|window| window == b"\\u0000") {
        return row;
    }
    match serde_json::from_slice::<serde_json::Value>(&row) {
        Ok(value) => serde_json::to_vec(&nul_as_replacement(value))
            .map(bytes::Bytes::from)
            .unwrap_or(row),
        Err(_) => row,
    }
}

/// Query parameters with each NUL character as U+FFFD, as rows keep them.
pub(crate) fn params_without_nul(
    params: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    params
        .into_iter()
        .map(|(k, v)| (k, nul_as_replacement(v)))
        .collect()
}

/// `value` with each NUL character in its strings as U+FFFD.
fn nul_as_replacement(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::String(text) if text.contains('\0') => {
            serde_json::Value::String(text.replace('\0', "\u{fffd}"))
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(nul_as_replacement).collect())
        }
        serde_json::Value::Object(fields) => serde_json::Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, nul_as_replacement(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The trait `#[view]` implements: how the runtime and clients find a view.
pub trait ViewComponent: Send + Sync + 'static {
    /// The component id.
    const COMPONENT_ID: &'static str;
    /// The row type of its table.
    type Row: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static;
    /// Its typed client.
    type Client;
    /// The typed client over `client`.
    fn client(client: crate::ComponentClient) -> Self::Client;
}

/// The return type of a query method whose results are streamed: one JSON row per line
/// (NDJSON), or server-sent events when the request asks for `text/event-stream`. With
/// `#[query("..", stream_updates = true)]` the stream stays open and carries each new or
/// changed row as it comes. A query method has no body, so a value of this type is never made.
pub struct QueryStream<T> {
    _row: PhantomData<fn() -> T>,
}

#[cfg(test)]
mod nul_tests {
    use super::*;

    #[test]
    fn a_nul_in_a_row_or_a_parameter_becomes_the_replacement_character_alike() {
        let row =
            bytes::Bytes::from(serde_json::to_vec(&serde_json::json!({"name": "a\0b"})).unwrap());
        let stored: serde_json::Value = serde_json::from_slice(&without_nul(row)).unwrap();
        let mut params = serde_json::Map::new();
        params.insert("name".into(), serde_json::json!("a\0b"));
        let params = params_without_nul(params);
        assert_eq!(stored["name"], "a\u{fffd}b");
        assert_eq!(params["name"], stored["name"], "a query finds the row");
        // A backslash followed by u0000 is text, not a NUL: left alone.
        let text = bytes::Bytes::from(
            serde_json::to_vec(&serde_json::json!({"name": "\\u0000"})).unwrap(),
        );
        assert_eq!(without_nul(text.clone()), text);
    }
}
