//! The service stream `customer_events`: what other services see of the customers.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{CustomerEntity, CustomerEvent};

/// The customers' public events; the serde tag is the `ce-type`.
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

/// Publishes the customers' events, as public events, to the stream `customer_events`.
#[derive(Default)]
pub struct CustomerEventsToStream;

#[action]
impl CustomerEventsToStream {
    /// Each event in its public form; an address change is not published.
    #[subscribe(event_sourced_entity = CustomerEntity)]
    #[publish(stream = "customer_events")]
    pub async fn on_event(&self, event: CustomerEvent) -> action::Effect<CustomerPublicEvent> {
        match event {
            CustomerEvent::CustomerCreated { email, name, .. } => {
                action::Effect::reply(CustomerPublicEvent::Created { email, name })
            }
            CustomerEvent::NameChanged { new_name } => {
                action::Effect::reply(CustomerPublicEvent::NameChanged { new_name })
            }
            CustomerEvent::AddressChanged { .. } => action::Effect::ignore(),
        }
    }
}
