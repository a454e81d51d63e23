//! The views of the registry, fed by the customers' events: one table, `customers`, queried by
//! name and by email.

use kalix_core::prelude::*;

use crate::{Customer, CustomerEntity, CustomerEvent};

/// Customers by name and by email.
#[derive(Default)]
pub struct CustomersView;

#[view(table = "customers")]
impl CustomersView {
    /// Applies an event to the customer's row.
    #[subscribe(event_sourced_entity = CustomerEntity)]
    pub fn on_event(
        &self,
        row: Option<&Customer>,
        event: &CustomerEvent,
    ) -> view::Effect<Customer> {
        match (row, event) {
            (
                _,
                CustomerEvent::CustomerCreated {
                    email,
                    name,
                    address,
                },
            ) => view::Effect::update_state(Customer {
                email: email.clone(),
                name: name.clone(),
                address: address.clone(),
            }),
            (Some(row), CustomerEvent::NameChanged { new_name }) => {
                view::Effect::update_state(Customer {
                    name: new_name.clone(),
                    ..row.clone()
                })
            }
            (Some(row), CustomerEvent::AddressChanged { address }) => {
                view::Effect::update_state(Customer {
                    address: Some(address.clone()),
                    ..row.clone()
                })
            }
            (None, _) => view::Effect::ignore(),
        }
    }

    /// The customers with a name.
    #[get("/customer/by_name/<name>")]
    #[query("SELECT * FROM customers WHERE name = :name")]
    pub fn get_by_name(&self, name: String) -> QueryStream<Customer>;

    /// The customers with an email.
    #[get("/customer/by_email/<email>")]
    #[query("SELECT * FROM customers WHERE email = :email")]
    pub fn get_by_email(&self, email: String) -> QueryStream<Customer>;
}
