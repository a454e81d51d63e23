// A state type that cannot be stored is reported at the state type only: once for Serialize and
// once for Deserialize, with serde's advice to derive them.
use kalix_core::prelude::*;

#[derive(Clone, Default)]
pub struct Customer {
    pub name: String,
}

#[derive(Default)]
pub struct CustomerEntity;

#[value_entity(type_id = "customer", id = "customer_id")]
impl CustomerEntity {
    #[post("/customer/<customer_id>/rename/<name>")]
    fn rename(&self, state: &Customer, name: String) -> value_entity::Effect<Customer, String> {
        value_entity::Effect::update_state(Customer { name }).then_reply(state.name.clone())
    }

    #[get("/customer/<customer_id>")]
    fn get(&self, state: &Customer) -> value_entity::Effect<Customer, String> {
        value_entity::Effect::reply(state.name.clone())
    }
}



#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub enum Event {
    Renamed(String),
}

#[derive(Default)]
pub struct Journal;

// The same for an event-sourced entity's state, kept as an `Option`.
#[event_sourced_entity(type_id = "journal", id = "id")]
impl Journal {
    #[post("/journal/<id>/rename/<name>")]
    fn rename(&self, _state: &Option<Customer>, name: String) -> event_sourced_entity::Effect<Option<Customer>, Event, String> {
        event_sourced_entity::Effect::emit_event(Event::Renamed(name)).then_reply(|_| String::new())
    }

    #[event_handler]
    fn apply(&self, _state: Option<Customer>, event: &Event) -> Option<Customer> {
        match event {
            Event::Renamed(name) => Some(Customer { name: name.clone() }),
        }
    }
}
fn main() {}
