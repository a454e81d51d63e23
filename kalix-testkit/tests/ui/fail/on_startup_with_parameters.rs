use kalix_core::prelude::*;

#[derive(Default)]
pub struct Init;

#[action]
impl Init {
    #[on_startup(max_retries = 3)]
    async fn init(&self, attempts: u32) -> action::Effect<String> {
        action::Effect::reply(attempts.to_string())
    }
}

fn main() {}
