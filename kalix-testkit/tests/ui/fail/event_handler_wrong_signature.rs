use kalix_core::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
pub enum Event {
    Added(i64),
}

#[derive(Default)]
pub struct Counter;

#[event_sourced_entity(type_id = "counter", id = "id")]
impl Counter {
    #[post("/counter/<id>/add/<n>")]
    fn add(&self, _total: &i64, n: i64) -> event_sourced_entity::Effect<i64, Event, i64> {
        event_sourced_entity::Effect::emit_event(Event::Added(n)).then_reply(|total| *total)
    }

    #[event_handler]
    fn apply(&self, total: i64, event: Event) -> i64 {
        match event {
            Event::Added(n) => total + n,
        }
    }
}

fn main() {}
