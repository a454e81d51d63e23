use kalix_core::prelude::*;
use kalix_core::workflow::Effect;

#[derive(Default)]
pub struct Transfer;

#[workflow(type_id = "transfer", id = "id")]
impl Transfer {
    #[put("/transfer/<id>")]
    fn start(&self, state: Option<&String>) -> Effect<Self, String, String> {
        Effect::update_state("started".to_owned())
            .transition_to(Self::WITHDRAWW, 10)
            .then_reply("ok".to_owned())
    }

    #[step]
    async fn withdraw(&self, amount: i64) -> StepResult<Self, String> {
        Ok(Transition::end())
    }
}

fn main() {}
