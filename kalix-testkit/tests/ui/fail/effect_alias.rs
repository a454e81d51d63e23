use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Customer {
    pub email: String,
}

type Effect<R> = value_entity::Effect<Customer, R>;

#[derive(Default)]
pub struct CustomerEntity;

// An alias needs the state named in the attribute: one error, at the alias.
#[value_entity(type_id = "customer", id = "customer_id")]
impl CustomerEntity {
    #[get("/customer/<customer_id>")]
    fn get(&self, state: &Customer) -> Effect<String> {
        Effect::reply(state.email.clone())
    }
}

#[derive(Default)]
pub struct NamedEntity;

// With the state named, a return type that is not named `..Effect` is still refused.
#[value_entity(type_id = "named", id = "id", state = Customer)]
impl NamedEntity {
    #[get("/named/<id>")]
    fn get(&self, state: &Customer) -> Result<String, String> {
        Ok(state.email.clone())
    }
}

fn main() {}
