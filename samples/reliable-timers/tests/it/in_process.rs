//! The contract in-process: the clock is moved by hand, so a 10 s timer fires at once.

use std::time::Duration;

use kalix_testkit::TestKit;
use serde_json::{Value, json};

use crate::{order_status, place};

// Links the service's components into this test binary.
use reliable_timers as _;

#[tokio::test]
async fn an_unconfirmed_order_is_gone_once_its_timer_fired_and_a_confirmed_one_stays() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    let expiring = place(&http, &base).await;
    let kept = place(&http, &base).await;

    let timers = testkit.timers().await;
    let names: Vec<&str> = timers.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&format!("order-expiration-timer-{expiring}").as_str()));
    let timer = &timers[0];
    assert!(timer.target.ends_with("OrderAction::expire"), "{timer:?}");
    let in_ten = timer.due_ms - testkit.clock().now_ms();
    assert!(
        (9_000..=10_000).contains(&in_ten),
        "due in about 10 s: {in_ten} ms"
    );

    let confirmed: Value = http
        .post(format!("{base}/orders/confirm/{kept}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(confirmed, json!("Ok"));
    assert_eq!(
        testkit.timers().await.len(),
        1,
        "confirming cancels the timer"
    );

    testkit.clock().advance(Duration::from_secs(9)).await;
    assert_eq!(
        order_status(&http, &base, &expiring).await,
        200,
        "not yet due"
    );
    testkit.clock().advance(Duration::from_secs(2)).await;
    assert_eq!(order_status(&http, &base, &expiring).await, 404, "expired");
    assert_eq!(
        order_status(&http, &base, &kept).await,
        200,
        "a confirmed order stays"
    );
    let status: Value = http
        .get(format!("{base}/order/{kept}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status,
        json!({"orderId": kept, "item": "tea", "quantity": 2, "confirmed": true})
    );
    assert!(testkit.timers().await.is_empty());
    testkit.stop().await;
}

#[tokio::test]
async fn expiring_an_unknown_order_is_ok_and_cancelling_cancels_the_timer() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    let expired: Value = http
        .post(format!("{base}/orders/expire/nobody"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(expired, json!("Ok"), "so its timer ends");

    let id = place(&http, &base).await;
    let cancelled = http
        .post(format!("{base}/orders/cancel/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.json::<Value>().await.unwrap(), json!("Ok"));
    assert!(
        testkit.timers().await.is_empty(),
        "the timer went with the order"
    );
    assert_eq!(order_status(&http, &base, &id).await, 404);
    let again = http
        .post(format!("{base}/orders/cancel/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    testkit.stop().await;
}

#[tokio::test]
async fn the_entity_answers_its_contract() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    let confirm = http
        .post(format!("{base}/order/o1/confirm"))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 404);
    assert_eq!(
        confirm.json::<Value>().await.unwrap()["detail"],
        "No order found for 'o1'"
    );
    let cancel = http
        .post(format!("{base}/order/o1/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 404);
    assert_eq!(
        cancel.json::<Value>().await.unwrap()["detail"],
        "No order found for o1"
    );
    assert_eq!(order_status(&http, &base, "o1").await, 404);

    let placed: Value = http
        .put(format!("{base}/order/o1/place"))
        .json(&json!({"item": "cup", "quantity": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        placed,
        json!({"id": "o1", "confirmed": false, "placed": true, "item": "cup", "quantity": 1})
    );
    let bad = http
        .put(format!("{base}/order/o2/place"))
        .json(&json!({"item": "cup", "quantity": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "a negative quantity is refused");
    http.post(format!("{base}/order/o1/confirm"))
        .send()
        .await
        .unwrap();
    let cancel = http
        .post(format!("{base}/order/o1/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 400);
    assert_eq!(
        cancel.json::<Value>().await.unwrap()["detail"],
        "Cannot cancel an already confirmed order"
    );
    testkit.stop().await;
}
