use std::time::Duration;

use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::{Value, json};

pub async fn value(testkit: &TestKit, id: &str) -> i64 {
    let body: Value = testkit
        .get(&format!("/counter/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["value"].as_i64().unwrap()
}

#[tokio::test]
async fn the_counter_contract() {
    let testkit = TestKit::start().await;
    assert_eq!(value(&testkit, "unknown").await, 0);

    let body: Value = testkit
        .post("/counter/c1/increase")
        .json(&json!({"value": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"value": 5}));
    let body: Value = testkit
        .post("/counter/c1/plusone")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"value": 6}));
    let body: Value = testkit
        .put("/counter/c1/set")
        .json(&json!({"value": -3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"value": -3}));
    assert_eq!(value(&testkit, "c1").await, -3);

    let body: Value = testkit
        .delete("/counter/c1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!("deleted: c1"));
    assert_eq!(value(&testkit, "c1").await, 0);
    let body: Value = testkit
        .post("/counter/c1/plusone")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"value": 1}),
        "a deleted counter starts again from its empty state"
    );
}

#[tokio::test]
async fn double_increase_replies_ok_and_increases_as_a_side_effect() {
    let testkit = TestKit::start().await;
    let body: Value = testkit
        .post("/counter/d1/double-increase/21")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!("ok"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while value(&testkit, "d1").await != 42 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the side effect never increased the counter"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn bad_input_changes_nothing() {
    let testkit = TestKit::start().await;
    testkit.post("/counter/b1/plusone").send().await.unwrap();
    let response = testkit
        .post("/counter/b1/increase")
        .json(&json!({"value": "ten"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = testkit
        .post("/counter/b1/increase")
        .json(&json!({"value": 9_223_372_036_854_775_808u64}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = testkit
        .post("/counter/b1/double-increase/x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(value(&testkit, "b1").await, 1);
}

#[tokio::test]
async fn a_sum_past_the_range_of_i64_is_a_400_and_the_counter_keeps_its_value() {
    let testkit = TestKit::start().await;
    let response = testkit
        .put("/counter/big/set")
        .json(&json!({"value": i64::MAX}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for (request, detail) in [
        (
            testkit
                .post("/counter/big/increase")
                .json(&json!({"value": 1})),
            "Increasing 9223372036854775807 by 1 would overflow the counter",
        ),
        (
            testkit.post("/counter/big/plusone"),
            "Increasing 9223372036854775807 by 1 would overflow the counter",
        ),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["detail"], detail);
    }
    assert_eq!(value(&testkit, "big").await, i64::MAX);
    let response = testkit
        .post(&format!("/counter/big/double-increase/{}", i64::MAX))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "Doubling 9223372036854775807 would overflow the counter"
    );
}
