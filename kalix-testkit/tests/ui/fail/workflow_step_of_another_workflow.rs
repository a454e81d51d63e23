use kalix_core::prelude::*;
use kalix_core::workflow::Effect;

#[derive(Default)]
pub struct Transfer;

#[derive(Default)]
pub struct Other;

#[workflow(type_id = "other", id = "id")]
impl Other {
    #[get("/other/<id>")]
    fn get(&self, state: Option<&String>) -> Effect<Self, String, String> {
        Effect::reply(state.cloned().unwrap_or_default())
    }

    #[step]
    async fn withdraw(&self, amount: i64) -> StepResult<Self, String> {
        Ok(Transition::end())
    }
}

#[workflow(type_id = "transfer", id = "id")]
impl Transfer {
    #[put("/transfer/<id>")]
    fn start(&self, state: Option<&String>) -> Effect<Self, String, String> {
        Effect::transition_to(Other::WITHDRAW, 10).then_reply("ok".to_owned())
    }

    #[step]
    async fn withdraw(&self, amount: i64) -> StepResult<Self, String> {
        Ok(Transition::end())
    }
}

fn main() {}
