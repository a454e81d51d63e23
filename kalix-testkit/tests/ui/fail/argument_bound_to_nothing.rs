use kalix_core::prelude::*;

#[derive(Default)]
pub struct Fib;

#[action]
impl Fib {
    #[get("/fibonacci/<number>/next")]
    async fn next(&self, number: u64, limit: u64) -> action::Effect<u64> {
        action::Effect::reply(number.min(limit))
    }
}

fn main() {}
