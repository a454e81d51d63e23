use kalix_core::prelude::*;

#[derive(Default)]
pub struct Copies;

#[action]
impl Copies {
    #[subscribe(stream = "customer_events")]
    async fn on_event(&self, _event: String) -> action::Effect<()> {
        action::Effect::reply(())
    }
}

fn main() {}
