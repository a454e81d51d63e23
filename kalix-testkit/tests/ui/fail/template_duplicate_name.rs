use kalix_core::prelude::*;

#[derive(Default)]
pub struct Pair;

#[action]
impl Pair {
    #[get("/pair/<a>/<a>")]
    async fn pair(&self, a: u64) -> action::Effect<u64> {
        action::Effect::reply(a)
    }
}

fn main() {}
