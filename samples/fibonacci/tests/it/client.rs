use fibonacci::{FibonacciAction, LimitedFibonacciAction, Number};
use kalix_testkit::TestKit;

#[tokio::test]
async fn the_component_client_calls_actions_in_process() {
    let testkit = TestKit::start().await;
    let client = testkit.component_client();
    let fibonacci = client.action::<FibonacciAction>();
    assert_eq!(
        fibonacci.next_number(Number { value: 5 }).await.unwrap(),
        Number { value: 8 }
    );
    assert_eq!(
        fibonacci.get_number(21).await.unwrap(),
        Number { value: 34 }
    );

    let error = fibonacci
        .next_number(Number { value: 7 })
        .await
        .unwrap_err();
    assert_eq!(error.status(), 400);
    assert_eq!(
        error.description(),
        "Input number is not a Fibonacci number, received '7'"
    );
}

#[tokio::test]
async fn the_component_client_follows_forwards() {
    let testkit = TestKit::start().await;
    let limited = testkit
        .component_client()
        .action::<LimitedFibonacciAction>();
    assert_eq!(limited.get_number(55).await.unwrap(), Number { value: 89 });
    assert_eq!(
        limited.next_number(Number { value: 89 }).await.unwrap(),
        Number { value: 144 }
    );
    let error = limited
        .next_number(Number { value: 10_946 })
        .await
        .unwrap_err();
    assert_eq!(
        error.description(),
        "Only numbers between 0 and 10k are allowed"
    );
}
