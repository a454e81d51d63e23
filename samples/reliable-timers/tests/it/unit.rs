//! The order action unit-tested: its timers are recorded, and advancing the testkit's clock
//! fires them through the stubbed order entity.

use std::time::Duration;

use kalix_testkit::ActionTestKit;
use reliable_timers::{EXPIRY, Order, OrderAction, OrderEntity, OrderRequest, timer_name};

#[tokio::test]
async fn placing_starts_the_expiration_timer_which_fires_the_expiry_when_due() {
    let testkit = ActionTestKit::new(OrderAction);
    testkit.stub::<OrderEntity>().place(|_| {
        Ok(Order {
            id: "o1".to_owned(),
            placed: true,
            ..Order::default()
        })
    });
    testkit
        .stub::<OrderAction>()
        .expire(|_| Ok("Ok".to_owned()));
    let request = OrderRequest {
        item: "tea".to_owned(),
        quantity: 1,
    };
    let result = testkit
        .call(async |a, ctx| a.place(request, ctx).await)
        .await;
    assert!(result.is_forward(), "the order is placed by the entity");
    let timers = testkit.timers();
    assert_eq!(timers.len(), 1);
    let order_id = timers[0]
        .name
        .strip_prefix("order-expiration-timer-")
        .unwrap()
        .to_owned();
    assert_eq!(timers[0].name, timer_name(&order_id));
    assert!(timers[0].target.ends_with("OrderAction::expire"));
    assert_eq!(
        timers[0].due_ms - testkit.clock().now_ms(),
        EXPIRY.as_millis() as u64
    );

    testkit.clock().advance(Duration::from_secs(9)).await;
    assert_eq!(testkit.timers().len(), 1, "not due yet");
    testkit.clock().advance(Duration::from_secs(1)).await;
    assert!(testkit.timers().is_empty(), "fired");
    let expired: Vec<String> = testkit
        .calls()
        .iter()
        .filter(|c| c.method() == "expire")
        .map(|c| c.path_params()[0].1.clone())
        .collect();
    assert_eq!(expired, [order_id]);
}

#[tokio::test]
async fn a_timer_whose_call_fails_stays_and_is_retried_as_the_runtime_retries_it() {
    // No stub for `expire`: the call fails, so the timer is called again 3 s later.
    let testkit = ActionTestKit::new(OrderAction);
    testkit
        .stub::<OrderEntity>()
        .place(|_| Ok(Order::default()));
    let request = OrderRequest::default();
    testkit
        .call(async |a, ctx| a.place(request, ctx).await)
        .await;
    testkit.clock().advance(EXPIRY).await;
    let timers = testkit.timers();
    assert_eq!(timers.len(), 1);
    assert_eq!(timers[0].attempts, 1);
    testkit.clock().advance(Duration::from_secs(3)).await;
    assert_eq!(testkit.timers()[0].attempts, 2);
}

#[tokio::test]
async fn the_unit_testkit_refuses_what_the_runtime_refuses() {
    let testkit = ActionTestKit::new(OrderAction);
    let result = testkit
        .call(async |_, ctx| {
            let call = ctx
                .component_client()
                .action::<OrderAction>()
                .expire("o1".to_owned());
            match ctx
                .timers()
                .start_single_timer("x".repeat(2_000), EXPIRY, call)
                .await
            {
                Ok(()) => kalix_core::action::Effect::reply("started".to_owned()),
                Err(error) => kalix_core::action::Effect::failed(error),
            }
        })
        .await;
    assert!(result.is_error());
    assert!(
        result.error().contains("at most 1536 bytes"),
        "{}",
        result.error()
    );
    assert!(testkit.timers().is_empty());
}
