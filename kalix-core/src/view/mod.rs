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

mod effect;
#[doc(hidden)]
pub mod private;
pub mod query;
mod serve;
#[doc(hidden)]
pub mod shape;
pub(crate) mod sql;
mod topic_updater;
mod updater;
mod updates;

use std::marker::PhantomData;

pub use effect::{Effect, UpdateContext};
pub use serve::ViewQueries;
pub(crate) use serve::run_query;
pub(crate) use updater::Views;
pub(crate) use updater::{check_columns, prepare_tables, topic_readers};
pub(crate) use updates::ViewUpdates;

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
