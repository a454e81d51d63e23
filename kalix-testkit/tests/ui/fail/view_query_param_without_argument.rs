use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub customer_id: String,
    pub name: String,
    pub age: u32,
    pub address: Option<Address>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Address {
    pub city: String,
}

#[derive(Default)]
pub struct CustomerEntity;

#[value_entity(type_id = "customer", id = "id")]
impl CustomerEntity {
    #[get("/customer/<id>")]
    fn get(&self, state: &Customer) -> value_entity::Effect<Customer, Customer> {
        value_entity::Effect::reply(state.clone())
    }
}

#[derive(Default)]
pub struct CustomersByName;

#[view(table = "customers")]
#[subscribe(value_entity = CustomerEntity)]
impl CustomersByName {
    #[get("/customers/<name>")]
    #[query("SELECT * FROM customers WHERE name = :name AND age > :age")]
    fn by_name(&self, name: String) -> Vec<Customer>;
}

fn main() {}
