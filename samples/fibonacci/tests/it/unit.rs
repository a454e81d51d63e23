use fibonacci::{FibonacciAction, LimitedFibonacciAction, Number};
use kalix_core::ErrorCode;
use kalix_core::action::ActionComponent;
use kalix_testkit::ActionTestKit;

#[tokio::test]
async fn the_next_number_after_3_is_5() {
    let testkit = ActionTestKit::new(FibonacciAction);
    let result = testkit
        .call(async |action, _| action.get_number(3).await)
        .await;
    assert_eq!(result.reply().value, 5);
}

#[tokio::test]
async fn a_number_outside_the_sequence_is_an_error() {
    let testkit = ActionTestKit::new(FibonacciAction);
    let result = testkit
        .call(async |action, _| action.next_number(Number { value: 4 }).await)
        .await;
    assert!(
        result
            .error()
            .starts_with("Input number is not a Fibonacci number")
    );
    assert_eq!(
        result.error(),
        "Input number is not a Fibonacci number, received '4'"
    );
    assert_eq!(result.error_status(), ErrorCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_limited_action_forwards_small_numbers_to_the_fibonacci_action() {
    let testkit = ActionTestKit::new(LimitedFibonacciAction);
    let result = testkit
        .call(async |action, ctx| action.next_number(Number { value: 21 }, ctx).await)
        .await;
    let forward = result.forward();
    assert_eq!(forward.component(), FibonacciAction::COMPONENT_ID);
    assert_eq!(forward.method(), "next_number");
    assert_eq!(forward.body_as::<Number>().unwrap(), Number { value: 21 });

    let result = testkit
        .call(async |action, ctx| action.get_number(8, ctx).await)
        .await;
    assert_eq!(result.forward().method(), "get_number");
    assert_eq!(
        result.forward().path_params(),
        [("number".to_owned(), "8".to_owned())]
    );
}

#[tokio::test]
async fn the_limited_action_refuses_numbers_above_10k() {
    let testkit = ActionTestKit::new(LimitedFibonacciAction);
    let result = testkit
        .call(async |action, ctx| action.get_number(10_001, ctx).await)
        .await;
    assert_eq!(result.error(), "Only numbers between 0 and 10k are allowed");
    assert!(!result.is_forward());
}
