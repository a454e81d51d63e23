include!("../grpc_fixture.rs");
use kalix_core::prelude::*;
use proto::{Fibonacci, Number};

#[derive(Default)]
pub struct FibonacciAction;

#[action]
impl FibonacciAction {
    #[grpc(Fibonacci::NextNumbr)]
    pub async fn next_number(&self, number: Number) -> action::Effect<Number> {
        action::Effect::reply(number)
    }
}

fn main() {}
