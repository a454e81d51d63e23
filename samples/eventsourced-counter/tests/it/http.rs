use eventsourced_counter::CounterEntity;
use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::{Value, json};

pub async fn value(testkit: &TestKit, id: &str) -> Value {
    testkit
        .get(&format!("/counter/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_counter_contract() {
    let testkit = TestKit::start().await;
    assert_eq!(value(&testkit, "c1").await, json!("0"));
    let body: Value = testkit
        .post("/counter/c1/increase/10")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!("10"));
    let body: Value = testkit
        .post("/counter/c1/multiply/3")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!("30"));
    let body: Value = testkit
        .post("/counter/c1/increase/-5")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!("25"));
    assert_eq!(value(&testkit, "c1").await, json!("25"));

    let response = testkit
        .post("/counter/c1/increase/ten")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(value(&testkit, "c1").await, json!("25"));
}

#[tokio::test]
async fn the_component_client_reaches_the_entity_in_process_and_over_http() {
    let testkit = TestKit::start().await;
    let counter = testkit.component_client();
    let counter = counter.event_sourced_entity::<CounterEntity>("k");
    assert_eq!(counter.increase(2).await.unwrap(), "2");
    let over_http = testkit.http_component_client();
    let counter = over_http.event_sourced_entity::<CounterEntity>("k");
    assert_eq!(counter.multiply(21).await.unwrap(), "42");
    assert_eq!(counter.get().await.unwrap(), "42");
}

#[tokio::test]
async fn concurrent_increments_on_one_counter_all_count() {
    let testkit = TestKit::start().await;
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let http = testkit.http().clone();
            let url = testkit.url("/counter/hot/increase/1");
            tokio::spawn(async move {
                for _ in 0..50 {
                    assert!(http.post(&url).send().await.unwrap().status().is_success());
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(value(&testkit, "hot").await, json!("1600"));
}

#[tokio::test]
async fn a_result_past_the_range_of_i64_is_a_400_and_no_event_is_stored() {
    let testkit = TestKit::start().await;
    let max = i64::MAX;
    let response = testkit
        .post(&format!("/counter/big/increase/{max}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for (path, detail) in [
        (
            "/counter/big/increase/1",
            "Increasing 9223372036854775807 by 1 would overflow the counter",
        ),
        (
            "/counter/big/multiply/2",
            "Multiplying 9223372036854775807 by 2 would overflow the counter",
        ),
    ] {
        let response = testkit.post(path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["detail"], detail);
    }
    assert_eq!(value(&testkit, "big").await, json!(max.to_string()));
}
