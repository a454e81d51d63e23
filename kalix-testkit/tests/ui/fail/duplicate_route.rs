use kalix_core::prelude::*;

#[derive(Default)]
pub struct Fib;

#[action]
impl Fib {
    #[get("/fibonacci/<number>/next")]
    async fn next(&self, number: u64) -> action::Effect<u64> {
        action::Effect::reply(number)
    }

    #[get("/fibonacci/<n>/next")]
    async fn also_next(&self, n: u64) -> action::Effect<u64> {
        action::Effect::reply(n)
    }
}

fn main() {}
