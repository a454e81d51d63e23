use kalix_core::prelude::*;

#[derive(Default)]
pub struct Counter;

#[value_entity(type_id = "counter", id = "counter_id")]
impl Counter {
    #[get("/counter/<counter_id>")]
    async fn get(&self, value: &i64) -> value_entity::Effect<i64, i64> {
        value_entity::Effect::reply(*value)
    }
}

fn main() {}
