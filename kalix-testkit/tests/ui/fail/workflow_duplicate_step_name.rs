use kalix_core::prelude::*;
use kalix_core::workflow::Effect;

#[derive(Default)]
pub struct Transfer;

#[workflow(type_id = "transfer", id = "id")]
impl Transfer {
    #[get("/transfer/<id>")]
    fn get(&self, state: Option<&String>) -> Effect<Self, String, String> {
        Effect::reply(state.cloned().unwrap_or_default())
    }

    #[step]
    async fn withdraw(&self) -> StepResult<Self, String> {
        Ok(Transition::end())
    }

    #[step(name = "withdraw")]
    async fn take_out(&self) -> StepResult<Self, String> {
        Ok(Transition::end())
    }
}

fn main() {}
