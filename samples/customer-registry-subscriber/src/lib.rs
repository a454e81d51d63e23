//! The Kalix customer-registry subscriber in Rust: a second service that reads the stream
//! `customer_events` of the service `customer-registry` (found at
//! `KALIX_SERVICE_CUSTOMER_REGISTRY`) into two views, each with its own consumer group.
//!
//! - `GET /customers/by_name/<name>` and `GET /customers/by_email/<email>` -> streams (NDJSON)
//!   of `{id, email, name}`, `id` being the event's subject (the customer's id).
//! - `POST /customer/<customerId>/create` body `{email, name, address}` -> creates the customer
//!   in the registry over HTTP and replies its `{"msg":"done"}`.
//!
//! The views are fed at least once, as every view from a topic or stream.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// The registry's base URL, a dependency of [`CustomerCreator`].
#[derive(Clone, Debug)]
pub struct RegistryUrl(pub String);

/// The registry's public events, as it publishes them (the serde tag is the `ce-type`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum CustomerPublicEvent {
    /// A customer was created.
    #[serde(rename = "customer-created")]
    Created {
        /// Its email.
        email: String,
        /// Its name.
        name: String,
    },
    /// A customer was renamed.
    #[serde(rename = "name-changed")]
    NameChanged {
        /// The new name.
        #[serde(rename = "newName")]
        new_name: String,
    },
}

/// A customer as these views keep it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomerRow {
    /// The customer's id: the event's subject.
    pub id: String,
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: String,
}

/// The row after `event`.
fn apply(
    row: Option<&CustomerRow>,
    event: &CustomerPublicEvent,
    ctx: &UpdateContext,
) -> view::Effect<CustomerRow> {
    match (row, event) {
        (_, CustomerPublicEvent::Created { email, name }) => {
            view::Effect::update_state(CustomerRow {
                id: ctx.event_subject().unwrap_or_default().to_owned(),
                email: email.clone(),
                name: name.clone(),
            })
        }
        (Some(row), CustomerPublicEvent::NameChanged { new_name }) => {
            view::Effect::update_state(CustomerRow {
                name: new_name.clone(),
                ..row.clone()
            })
        }
        (None, CustomerPublicEvent::NameChanged { .. }) => view::Effect::ignore(),
    }
}

/// The customers by name.
#[derive(Default)]
pub struct CustomersByName;

#[view(table = "customers_by_name")]
impl CustomersByName {
    /// Each event of the registry's stream.
    #[subscribe(
        stream = "customer_events",
        service = "customer-registry",
        consumer_group = "customers-by-name"
    )]
    pub fn on_event(
        &self,
        row: Option<&CustomerRow>,
        event: CustomerPublicEvent,
        ctx: &UpdateContext,
    ) -> view::Effect<CustomerRow> {
        apply(row, &event, ctx)
    }

    /// The customers with a name.
    #[get("/customers/by_name/<name>")]
    #[query("SELECT * FROM customers_by_name WHERE name = :name")]
    pub fn get_customers(&self, name: String) -> QueryStream<CustomerRow>;
}

/// The customers by email.
#[derive(Default)]
pub struct CustomersByEmail;

#[view(table = "customers_by_email")]
impl CustomersByEmail {
    /// Each event of the registry's stream.
    #[subscribe(
        stream = "customer_events",
        service = "customer-registry",
        consumer_group = "customers-by-email"
    )]
    pub fn on_event(
        &self,
        row: Option<&CustomerRow>,
        event: CustomerPublicEvent,
        ctx: &UpdateContext,
    ) -> view::Effect<CustomerRow> {
        apply(row, &event, ctx)
    }

    /// The customers with an email.
    #[get("/customers/by_email/<email>")]
    #[query("SELECT * FROM customers_by_email WHERE email = :email")]
    pub fn get_customers(&self, email: String) -> QueryStream<CustomerRow>;
}

/// A customer to create: `{email, name, address}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewCustomer {
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: String,
    /// Its address, passed on as it is.
    pub address: serde_json::Value,
}

/// `base` with `segments` appended, each percent-encoded as one path segment.
fn registry_url<'a>(
    base: &str,
    segments: impl IntoIterator<Item = &'a str>,
) -> Option<reqwest::Url> {
    let mut url = reqwest::Url::parse(base).ok()?;
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(segments);
    Some(url)
}

/// Creates customers in the registry.
pub struct CustomerCreator {
    registry: RegistryUrl,
    http: reqwest::Client,
}

impl CustomerCreator {
    /// Built with the registry's URL.
    pub fn new(dependencies: &Dependencies) -> Result<Self, MissingDependency> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        Ok(Self {
            registry: dependencies.get::<RegistryUrl>()?,
            http,
        })
    }
}

#[action(new = CustomerCreator::new)]
impl CustomerCreator {
    /// Creates the customer in the registry; replies what it replied.
    #[post("/customer/<customer_id>/create")]
    pub async fn create(
        &self,
        customer_id: String,
        customer: NewCustomer,
    ) -> action::Effect<serde_json::Value> {
        // The id is one path segment: percent-encoded, so a '/' or '?' in it cannot reach
        // another route of the registry.
        let Some(url) = registry_url(&self.registry.0, ["customer", &customer_id, "create"]) else {
            return action::Effect::error_with_status(
                format!(
                    "the registry's URL '{}' cannot take a path",
                    self.registry.0
                ),
                ErrorCode::INTERNAL_SERVER_ERROR,
            );
        };
        let response = match self.http.post(url).json(&customer).send().await {
            Ok(response) => response,
            Err(error) => {
                return action::Effect::error_with_status(
                    format!("the registry could not be reached: {error}"),
                    ErrorCode::SERVICE_UNAVAILABLE,
                );
            }
        };
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        if status.is_success() {
            action::Effect::reply(body)
        } else {
            let detail = body["detail"]
                .as_str()
                .unwrap_or("the registry refused")
                .to_owned();
            action::Effect::error_with_status(
                detail,
                ErrorCode::from_u16(status.as_u16()).unwrap_or(ErrorCode::BAD_REQUEST),
            )
        }
    }
}
