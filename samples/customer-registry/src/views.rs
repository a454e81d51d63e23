//! The views of the customer registry.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Customer, CustomerEntity};

/// `{"id", "name"}`: a customer in short.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomerSummary {
    /// An id: the email in the `customers` table, the customer's id in streams.
    pub id: String,
    /// The name.
    pub name: String,
}

/// `{"customers": [...]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomersResponse {
    /// The customers found.
    pub customers: Vec<Customer>,
}

/// A page of customers: `{"customers", "nextPageToken", "hasMore"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomersPage {
    /// At most 10 customers, by name.
    pub customers: Vec<Customer>,
    /// The token of the next page; empty on the last.
    pub next_page_token: String,
    /// Whether more pages follow.
    pub has_more: bool,
}

/// Customers by name: the entity's state as it is, removed when it is deleted.
#[derive(Default)]
pub struct CustomersByName;

#[view(table = "customers_by_name")]
#[subscribe(value_entity = CustomerEntity, handle_deletes)]
impl CustomersByName {
    /// The customers with a name, streamed.
    #[get("/customers/by_name/<name>")]
    #[query("SELECT * FROM customers_by_name WHERE name = :name")]
    pub fn get_customers(&self, name: String) -> QueryStream<Customer>;

    /// The customers with a name, in a wrapper.
    #[get("/wrapped/by_name/<name>")]
    #[query("SELECT * AS customers FROM customers_by_name WHERE name = :name")]
    pub fn get_customers_wrapped(&self, name: String) -> CustomersResponse;

    /// The customers with a name, as `{"id", "name"}`, then each new or changed one.
    #[get("/stream/by_name/<name>")]
    #[query(
        "SELECT customerId AS id, name FROM customers_by_name WHERE name = :name",
        stream_updates = true
    )]
    pub fn stream_customers(&self, name: String) -> QueryStream<CustomerSummary>;
}

/// One customer by email.
#[derive(Default)]
pub struct CustomerByEmail;

#[view(table = "customers_by_email")]
#[subscribe(value_entity = CustomerEntity, handle_deletes)]
impl CustomerByEmail {
    /// The customer with an email, or 404.
    #[get("/customer/by_email/<email>")]
    #[query("SELECT * FROM customers_by_email WHERE email = :email")]
    pub fn get_customer(&self, email: String) -> Customer;
}

/// What `POST /customers/search` looks for: `{"name", "city"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Search {
    /// The name.
    pub name: String,
    /// The city.
    pub city: String,
}

/// Customers by city, and paged.
#[derive(Default)]
pub struct CustomersByCity;

#[view(table = "customers_by_city")]
#[subscribe(value_entity = CustomerEntity, handle_deletes)]
impl CustomersByCity {
    /// The customers living in any of `cities`.
    #[get("/wrapped/by_city")]
    #[query("SELECT * AS customers FROM customers_by_city WHERE address.city = ANY(:cities)")]
    pub fn get_customers(&self, #[query] cities: Vec<String>) -> CustomersResponse;

    /// A page of the customers of a city, by name.
    #[get("/customers/by_city/<city>/page")]
    #[query(
        "SELECT * AS customers, next_page_token() AS nextPageToken, has_more() AS hasMore \
         FROM customers_by_city WHERE address.city = :city ORDER BY name \
         OFFSET page_token_offset(:token) LIMIT 10"
    )]
    pub fn get_page(&self, city: String, #[query] token: Option<String>) -> CustomersPage;

    /// The customers of a name in a city, the parameters coming from the body's fields.
    #[post("/customers/search")]
    #[query(
        "SELECT * AS customers FROM customers_by_city WHERE name = :name AND address.city = :city"
    )]
    pub fn search(&self, search: Search) -> CustomersResponse;
}

/// A summary per customer (`id` is the email, as in the Kalix sample), kept by update methods.
#[derive(Default)]
pub struct CustomerSummaryByName;

#[view(table = "customers")]
impl CustomerSummaryByName {
    /// Each change of a customer gives its summary.
    #[subscribe(value_entity = CustomerEntity)]
    pub fn on_change(&self, customer: &Customer) -> view::Effect<CustomerSummary> {
        view::Effect::update_state(CustomerSummary {
            id: customer.email.clone(),
            name: customer.name.clone(),
        })
    }

    /// A deleted customer has no summary.
    #[subscribe(value_entity = CustomerEntity, handle_deletes)]
    pub fn on_delete(&self) -> view::Effect<CustomerSummary> {
        view::Effect::delete_state()
    }

    /// The summary of the customer with a name, or 404.
    #[get("/summary/by_name/<name>")]
    #[query("SELECT * FROM customers WHERE name = :name")]
    pub fn get_customer(&self, name: String) -> CustomerSummary;
}
