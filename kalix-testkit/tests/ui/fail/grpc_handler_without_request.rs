include!("../grpc_fixture.rs");
use kalix_core::prelude::*;
use proto::{Fibonacci, Number};

#[derive(Default)]
pub struct FibonacciAction;

#[action]
impl FibonacciAction {
    #[grpc(Fibonacci::NextNumber)]
    pub async fn next_number(&self, _ctx: &ActionContext) -> action::Effect<Number> {
        action::Effect::reply(Number { value: 1 })
    }

    #[grpc(Fibonacci::NextNumbers)]
    #[get("/numbers")]
    pub async fn next_numbers(&self, number: Number) -> action::EffectStream<Number> {
        std::iter::once(action::Effect::reply(number)).collect()
    }
}

fn main() {}
