include!("../grpc_fixture.rs");
use kalix_core::prelude::*;
use proto::{Fibonacci, GetCart, Number};

#[derive(Default)]
pub struct FibonacciAction;

#[action]
impl FibonacciAction {
    #[grpc(Fibonacci::NextNumber)]
    pub async fn next_number(&self, request: GetCart) -> action::Effect<Number> {
        action::Effect::reply(Number { value: request.cart_id.len() as i64 })
    }
}

fn main() {}
