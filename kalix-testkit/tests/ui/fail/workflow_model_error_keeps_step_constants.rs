// A workflow attribute without its `type_id`: that is the one error; the commands' transitions to
// its steps add none of their own.
use kalix_core::prelude::*;
use kalix_core::workflow::Effect;

#[derive(Default)]
pub struct Lending;

#[workflow(id = "id")]
impl Lending {
    #[put("/lending/<id>")]
    fn start(&self, state: Option<&String>) -> Effect<Self, String, String> {
        let _ = state;
        Effect::update_state("lending".to_owned())
            .transition_to(Self::LEND_BOOK, ())
            .then_reply("started".to_owned())
    }

    #[put("/lending/<id>/again")]
    fn again(&self, state: Option<&String>) -> Effect<Self, String, String> {
        let _ = state;
        Effect::transition_to(Self::LEND_BOOK, ()).then_reply("again".to_owned())
    }

    #[step]
    async fn lend_book(&self) -> StepResult<Self, String> {
        Ok(Transition::update_state("lent".to_owned()).end())
    }
}

fn main() {}
