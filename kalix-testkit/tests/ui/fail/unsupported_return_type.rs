use kalix_core::prelude::*;

#[derive(Default)]
pub struct Fib;

#[action]
impl Fib {
    #[get("/fibonacci/<number>/next")]
    async fn next(&self, number: u64) -> u64 {
        number
    }
}

fn main() {}
