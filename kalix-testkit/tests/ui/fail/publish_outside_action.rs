use kalix_core::prelude::*;

#[derive(Default)]
pub struct Counter;

#[value_entity(type_id = "counter", id = "id")]
impl Counter {
    #[post("/counter/<id>/increase")]
    #[publish(topic = "counter-events")]
    fn increase(&self, counter: &i64) -> value_entity::Effect<i64, i64> {
        value_entity::Effect::update_state(counter + 1).then_reply(counter + 1)
    }
}

fn main() {}
