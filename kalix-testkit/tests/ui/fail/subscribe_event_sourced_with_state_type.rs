// A subscription to an event-sourced entity taking the entity's state instead of its events.
use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub enum LoanEvent {
    Lent { book: String },
}

#[derive(Default)]
pub struct MemberEntity;

#[event_sourced_entity(type_id = "member", id = "id")]
impl MemberEntity {
    #[post("/member/<id>/lend/<book>")]
    fn lend(&self, _loans: &u32, book: String) -> event_sourced_entity::Effect<u32, LoanEvent, String> {
        event_sourced_entity::Effect::emit_event(LoanEvent::Lent { book }).then_reply(|n| n.to_string())
    }

    #[event_handler]
    fn apply(&self, loans: u32, _event: &LoanEvent) -> u32 {
        loans + 1
    }
}

#[derive(Default)]
pub struct Reminders;

#[action]
impl Reminders {
    #[subscribe(event_sourced_entity = MemberEntity)]
    async fn on_loan(&self, _loans: u32) -> action::Effect<()> {
        action::Effect::reply(())
    }
}

fn main() {}
