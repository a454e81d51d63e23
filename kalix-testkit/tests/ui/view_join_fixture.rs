// Two value entities (customers and their orders) and a wrapper of orders, for the
// compile-fail cases of views that join tables.
use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub customer_id: String,
    pub name: String,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: String,
    pub customer_id: String,
    pub quantity: u32,
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
pub struct OrderEntity;

#[value_entity(type_id = "order", id = "id")]
impl OrderEntity {
    #[get("/order/<id>")]
    fn get(&self, state: &Order) -> value_entity::Effect<Order, Order> {
        value_entity::Effect::reply(state.clone())
    }
}

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Orders {
    pub orders: Vec<Order>,
}
