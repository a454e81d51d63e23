use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    value: i64,
}

#[derive(Default)]
pub struct CounterEntity;

#[value_entity(type_id = "counter", id = "id")]
impl CounterEntity {
    #[get("/counter/<id>")]
    fn get(&self, counter: &Counter) -> value_entity::Effect<Counter, Counter> {
        value_entity::Effect::reply(counter.clone())
    }
}

#[derive(Default)]
pub struct Changes;

#[action]
impl Changes {
    #[subscribe(value_entity = CounterEntity)]
    async fn on_change(&self, _counter: i64) -> action::Effect<()> {
        action::Effect::reply(())
    }
}

fn main() {}
