use kalix_core::prelude::*;

#[derive(Default)]
pub struct Counter;

#[value_entity(type_id = "counter", id = "id")]
impl Counter {
    #[get("/counter/<id>")]
    fn get(&self, counter: &i64) -> value_entity::Effect<i64, i64> {
        value_entity::Effect::reply(*counter)
    }
}

#[derive(Default)]
pub struct Changes;

#[action]
impl Changes {
    #[subscribe(value_entity = Counter, ignore_unknown)]
    async fn on_change(&self, _counter: i64) -> action::Effect<()> {
        action::Effect::reply(())
    }
}

fn main() {}
