//! `com.example.fibonacci.Fibonacci` as an action.

use kalix_core::prelude::*;

use crate::proto::com::example::fibonacci::{Fibonacci, Number};

/// How many numbers `NextNumbers` streams.
const STREAMED: usize = 5;

/// Answers with the Fibonacci numbers after the one it is given.
#[derive(Default)]
pub struct FibonacciAction;

/// The Fibonacci sequence over gRPC.
#[action]
impl FibonacciAction {
    /// The Fibonacci number after the request's.
    #[grpc(Fibonacci::NextNumber)]
    pub async fn next_number(&self, number: Number) -> action::Effect<Number> {
        match next_fibonacci(number.value) {
            Ok(value) => action::Effect::reply(Number { value }),
            Err(error) => action::Effect::error(error),
        }
    }

    /// The five Fibonacci numbers after the request's.
    #[grpc(Fibonacci::NextNumbers)]
    pub async fn next_numbers(&self, number: Number) -> action::EffectStream<Number> {
        let mut effects = Vec::with_capacity(STREAMED);
        let mut current = number.value;
        for _ in 0..STREAMED {
            match next_fibonacci(current) {
                Ok(value) => {
                    current = value;
                    effects.push(action::Effect::reply(Number { value }));
                }
                // The error is the last element: the stream ends there.
                Err(error) => {
                    effects.push(action::Effect::error(error));
                    break;
                }
            }
        }
        effects.into_iter().collect()
    }
}

/// The Fibonacci number after `number`, or why there is none (as the reply's error message).
///
/// ```
/// use grpc_services::next_fibonacci;
/// assert_eq!(next_fibonacci(5), Ok(8));
/// assert!(next_fibonacci(7).is_err());
/// ```
pub fn next_fibonacci(number: i64) -> Result<i64, String> {
    let not_fibonacci = || format!("Input number is not a Fibonacci number, received '{number}'");
    if number < 0 {
        return Err(not_fibonacci());
    }
    if number == 0 {
        return Ok(1);
    }
    let (mut previous, mut current) = (0i64, 1i64);
    while current < number {
        let next = previous.checked_add(current).ok_or_else(not_fibonacci)?;
        previous = current;
        current = next;
    }
    if current != number {
        return Err(not_fibonacci());
    }
    // 1 appears twice in the sequence; its successor is 2.
    if number == 1 {
        return Ok(2);
    }
    previous.checked_add(current).ok_or_else(|| {
        format!(
            "The Fibonacci number after '{number}' is larger than {}",
            i64::MAX
        )
    })
}
