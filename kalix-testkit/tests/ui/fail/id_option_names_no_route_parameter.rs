// An `id` option that no route has is one error, at the option, naming the parameter the routes
// share.
use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
}

#[derive(Default)]
pub struct CustomerEntity;

#[value_entity(type_id = "customer", id = "customerId")]
impl CustomerEntity {
    #[post("/customer/<customer_id>/create")]
    fn create(&self, _state: &Customer, #[body] customer: Customer) -> value_entity::Effect<Customer, String> {
        value_entity::Effect::update_state(customer).then_reply("ok".to_owned())
    }

    #[get("/customer/<customer_id>")]
    fn get(&self, state: &Customer) -> value_entity::Effect<Customer, Customer> {
        value_entity::Effect::reply(state.clone())
    }

    #[put("/customer/<customer_id>/name/<name>")]
    fn rename(&self, state: &Customer, name: String) -> value_entity::Effect<Customer, String> {
        value_entity::Effect::update_state(Customer { name }).then_reply(state.name.clone())
    }
}

fn main() {}
