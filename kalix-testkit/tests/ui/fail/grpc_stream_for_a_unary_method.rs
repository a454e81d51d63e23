include!("../grpc_fixture.rs");
use kalix_core::prelude::*;
use proto::{Fibonacci, Number};

#[derive(Default)]
pub struct FibonacciAction;

#[action]
impl FibonacciAction {
    #[grpc(Fibonacci::NextNumber)]
    pub async fn next_number(&self, number: Number) -> action::EffectStream<Number> {
        std::iter::once(action::Effect::reply(number)).collect()
    }

    #[grpc(Fibonacci::NextNumbers)]
    pub async fn next_numbers(&self, number: Number) -> action::Effect<Number> {
        action::Effect::reply(number)
    }
}

fn main() {}
