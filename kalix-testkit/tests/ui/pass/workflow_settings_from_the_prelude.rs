// A workflow's settings with nothing imported but the prelude.
use kalix_core::prelude::*;
use kalix_core::workflow::Effect;
use std::time::Duration;

#[derive(Default)]
pub struct Lending;

#[workflow(type_id = "lending", id = "id", state = String)]
impl Lending {
    #[settings]
    fn settings() -> Settings<Self> {
        Settings::new()
            .default_step_timeout(Duration::from_secs(10))
            .step_recovery(Self::LEND_BOOK, Recovery::max_retries(2))
    }

    #[get("/lending/<id>")]
    fn get(&self, state: Option<&String>) -> Effect<Self, String, String> {
        Effect::reply(state.cloned().unwrap_or_default())
    }

    #[put("/lending/<id>")]
    fn start(&self, state: Option<&String>) -> Effect<Self, String, String> {
        let _ = state;
        Effect::transition_to(Self::LEND_BOOK, ()).then_reply("started".to_owned())
    }

    #[step]
    async fn lend_book(&self) -> StepResult<Self, String> {
        Ok(Transition::update_state("lent".to_owned()).end())
    }
}

fn main() {}
