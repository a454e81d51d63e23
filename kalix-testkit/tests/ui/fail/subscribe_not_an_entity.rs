use kalix_core::prelude::*;

#[derive(Default)]
pub struct Counter;

#[derive(Default)]
pub struct Changes;

#[action]
impl Changes {
    #[subscribe(value_entity = Counter)]
    async fn on_change(&self, _value: i64) -> action::Effect<()> {
        action::Effect::reply(())
    }
}

fn main() {}
