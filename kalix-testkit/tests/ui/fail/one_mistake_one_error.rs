// A mistake in one handler is one error: the entity's client still exists for the code that
// calls its other handlers.
use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
}

#[derive(Default)]
pub struct CustomerEntity;

#[value_entity(type_id = "customer", id = "customer_id")]
impl CustomerEntity {
    #[get("/customer/<customer_id>/rename")]
    fn rename(&self, state: &Customer, name: String) -> value_entity::Effect<Customer, String> {
        value_entity::Effect::update_state(Customer { name }).then_reply(state.name.clone())
    }

    #[get("/customer/<customer_id>")]
    fn get(&self, state: &Customer) -> value_entity::Effect<Customer, Customer> {
        value_entity::Effect::reply(state.clone())
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub enum Event {
    Renamed(String),
}

#[derive(Default)]
pub struct Journal;

#[event_sourced_entity(type_id = "journal", id = "id")]
impl Journal {
    // The only command handler, and it is async: reported, and the client still exists.
    #[post("/journal/<id>/rename")]
    async fn rename(&self, _state: &Customer, name: String) -> event_sourced_entity::Effect<Customer, Event, String> {
        event_sourced_entity::Effect::emit_event(Event::Renamed(name)).then_reply(|c: &Customer| c.name.clone())
    }

    #[event_handler]
    fn apply(&self, _state: Customer, event: &Event) -> Customer {
        match event {
            Event::Renamed(name) => Customer { name: name.clone() },
        }
    }
}

#[derive(Default)]
pub struct Greeter;

#[action]
impl Greeter {
    #[get("/greet/<id>")]
    async fn greet(&self, id: String, ctx: &ActionContext) -> action::Effect<String> {
        let _journal = ctx.component_client().event_sourced_entity::<Journal>(id.clone());
        match ctx.component_client().value_entity::<CustomerEntity>(id).get().await {
            Ok(customer) => action::Effect::reply(format!("Hello, {}", customer.name)),
            Err(error) => action::Effect::error(error.to_string()),
        }
    }
}

fn main() {}
