use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Customer {
    pub email: String,
}

#[derive(Default)]
pub struct CustomerEntity;

#[value_entity(type_id = "customer", id = "customer_id")]
impl CustomerEntity {
    // By value the state would be read from the request body: any client could set it.
    #[post("/customer/<customer_id>/touch")]
    fn touch(&self, state: Option<Customer>) -> value_entity::Effect<Option<Customer>, String> {
        value_entity::Effect::update_state(state).then_reply("ok".to_owned())
    }

    #[get("/customer/<customer_id>")]
    fn get(&self, state: Option<Customer>) -> value_entity::Effect<Option<Customer>, String> {
        value_entity::Effect::reply(format!("{}", state.is_some()))
    }
}

#[derive(Serialize, Deserialize)]
pub enum Event {
    Renamed(String),
}

#[derive(Default)]
pub struct Counter;

#[event_sourced_entity(type_id = "counter", id = "id")]
impl Counter {
    #[post("/counter/<id>/bump")]
    fn bump(&self, state: &mut i64) -> event_sourced_entity::Effect<i64, Event, i64> {
        event_sourced_entity::Effect::reply(*state)
    }

    #[event_handler]
    fn apply(&self, state: i64, _event: &Event) -> i64 {
        state
    }
}

fn main() {}
