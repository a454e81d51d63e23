use kalix_core::prelude::*;
use kalix_core::workflow::{Effect, Settings};

#[derive(Default)]
pub struct Transfer;

#[workflow(type_id = "transfer", id = "id")]
impl Transfer {
    #[settings]
    fn settings(&self) -> Settings<Self> {
        Settings::new()
    }

    #[get("/transfer/<id>")]
    fn get(&self, state: Option<&String>) -> Effect<Self, String, String> {
        Effect::reply(state.cloned().unwrap_or_default())
    }
}

fn main() {}
