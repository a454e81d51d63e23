use kalix_core::prelude::*;
use kalix_core::workflow::Effect;

#[derive(Default)]
pub struct Transfer;

#[workflow(type_id = "transfer", id = "id")]
impl Transfer {
    #[get("/transfer/<id>")]
    fn get(&self, state: &String) -> Effect<Self, String, String> {
        Effect::reply(state.clone())
    }
}

fn main() {}
