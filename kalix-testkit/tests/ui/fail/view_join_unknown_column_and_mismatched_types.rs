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

#[derive(Default)]
pub struct CustomerOrders;

#[view]
impl CustomerOrders {
    #[table("customers")]
    #[subscribe(value_entity = CustomerEntity)]
    fn on_customer(&self, customer: &Customer) -> view::Effect<Customer> {
        view::Effect::update_state(customer.clone())
    }

    #[table("orders")]
    #[subscribe(value_entity = OrderEntity)]
    fn on_order(&self, order: &Order) -> view::Effect<Order> {
        view::Effect::update_state(order.clone())
    }

    #[get("/orders/<id>")]
    #[query("SELECT * AS orders FROM customers JOIN orders ON customers.name = orders.quantity WHERE orders.nmae = :id")]
    fn orders(&self, id: String) -> Orders;
}

fn main() {}
