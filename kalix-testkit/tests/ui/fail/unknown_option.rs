use kalix_core::prelude::*;

#[derive(Default)]
pub struct Init;

#[action(forward_header = ["UserRole"])]
impl Init {
    #[on_startup(retries = 3)]
    async fn init(&self) -> action::Effect<String> {
        action::Effect::reply(String::new())
    }
}

fn main() {}
