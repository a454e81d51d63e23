//! The Kalix Fibonacci sample in Rust: an action as a pure function, and a second action that
//! validates its input and forwards to the first.
//!
//! - `GET /fibonacci/<number>/next` and `POST /fibonacci/next` `{"value": n}` reply with the
//!   next Fibonacci number, or a 400 if `n` is not one.
//! - `GET /limitedfibonacci/<number>/next` and `POST /limitedfibonacci/next` refuse numbers above
//!   10,000 and forward the rest to [`FibonacciAction`].

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// A number, as the Kalix sample's JSON: `{"value": 5}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Number {
    /// The number.
    pub value: u64,
}

/// Replies with the Fibonacci number that follows the one it is given.
#[derive(Default)]
pub struct FibonacciAction;

/// The Fibonacci sequence: the number after a given one (the API description's text for this
/// component comes from this doc comment, on the `impl` block the attribute is on).
#[action]
impl FibonacciAction {
    /// The next number after the path parameter.
    #[get("/fibonacci/<number>/next")]
    pub async fn get_number(&self, number: u64) -> action::Effect<Number> {
        self.next_number(Number { value: number }).await
    }

    /// The next number after the body's.
    #[post("/fibonacci/next")]
    pub async fn next_number(&self, number: Number) -> action::Effect<Number> {
        match next_fibonacci(number.value) {
            Ok(value) => action::Effect::reply(Number { value }),
            Err(NoSuccessor::NotFibonacci) => action::Effect::error(format!(
                "Input number is not a Fibonacci number, received '{}'",
                number.value
            )),
            Err(NoSuccessor::TooLarge) => action::Effect::error(format!(
                "The Fibonacci number after '{}' is larger than {}",
                number.value,
                u64::MAX
            )),
        }
    }
}

/// Lets only numbers up to 10,000 through to [`FibonacciAction`].
#[derive(Default)]
pub struct LimitedFibonacciAction;

/// The same, for numbers up to 10,000 only.
#[action]
impl LimitedFibonacciAction {
    /// Forwards the path parameter to `FibonacciAction::get_number`.
    #[get("/limitedfibonacci/<number>/next")]
    pub async fn get_number(&self, number: u64, ctx: &ActionContext) -> action::Effect<Number> {
        if number > LIMIT {
            return limit_exceeded();
        }
        let fibonacci = ctx.component_client().action::<FibonacciAction>();
        action::Effect::forward(fibonacci.get_number(number))
    }

    /// Forwards the body to `FibonacciAction::next_number`.
    #[post("/limitedfibonacci/next")]
    pub async fn next_number(&self, number: Number, ctx: &ActionContext) -> action::Effect<Number> {
        if number.value > LIMIT {
            return limit_exceeded();
        }
        let fibonacci = ctx.component_client().action::<FibonacciAction>();
        action::Effect::forward(fibonacci.next_number(number))
    }
}

const LIMIT: u64 = 10_000;

fn limit_exceeded() -> action::Effect<Number> {
    action::Effect::error("Only numbers between 0 and 10k are allowed")
}

/// Why a number has no successor in [`next_fibonacci`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoSuccessor {
    /// The number is not a Fibonacci number.
    NotFibonacci,
    /// It is one, but the next one does not fit in a `u64`.
    TooLarge,
}

/// The Fibonacci number after `number`.
///
/// Exact integer arithmetic (the Java sample's `Math.round(n * phi)` drifts for large numbers).
/// `1` appears twice in the sequence; its successor is `2`, as in the Java sample.
///
/// ```
/// use fibonacci::{NoSuccessor, next_fibonacci};
/// assert_eq!(next_fibonacci(5), Ok(8));
/// assert_eq!(next_fibonacci(7), Err(NoSuccessor::NotFibonacci));
/// ```
pub fn next_fibonacci(number: u64) -> Result<u64, NoSuccessor> {
    let (mut previous, mut current) = (0u64, 1u64);
    if number == 0 {
        return Ok(1);
    }
    while current < number {
        // Past the largest Fibonacci number of u64, `number` is not one.
        let next = previous
            .checked_add(current)
            .ok_or(NoSuccessor::NotFibonacci)?;
        previous = current;
        current = next;
    }
    if current != number {
        return Err(NoSuccessor::NotFibonacci);
    }
    // For 1 the pair is (0, 1); step once more so that 1 -> 2 rather than 1 -> 1.
    if number == 1 {
        return Ok(2);
    }
    previous.checked_add(current).ok_or(NoSuccessor::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::{NoSuccessor, next_fibonacci};

    #[test]
    fn successors_follow_the_sequence() {
        let sequence = [0u64, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144];
        for pair in sequence.windows(2) {
            assert_eq!(next_fibonacci(pair[0]), Ok(pair[1]), "after {}", pair[0]);
        }
        for not_fibonacci in [4u64, 6, 7, 9, 10, 100, 10_000, u64::MAX] {
            assert_eq!(
                next_fibonacci(not_fibonacci),
                Err(NoSuccessor::NotFibonacci),
                "{not_fibonacci}"
            );
        }
        // The largest Fibonacci number that fits in u64 has no successor that does.
        assert_eq!(
            next_fibonacci(12_200_160_415_121_876_738),
            Err(NoSuccessor::TooLarge)
        );
        assert_eq!(
            next_fibonacci(7_540_113_804_746_346_429),
            Ok(12_200_160_415_121_876_738)
        );
    }
}
