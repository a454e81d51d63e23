use kalix_core::prelude::*;

#[derive(Default)]
pub struct Fib;

#[action]
impl Fib {
    #[get("/fibonacci/<>/next")]
    async fn next(&self) -> action::Effect<u64> {
        action::Effect::reply(1)
    }
}

fn main() {}
