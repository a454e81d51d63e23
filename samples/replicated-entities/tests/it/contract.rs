//! The sample's contract over HTTP, in process (SQLite in memory): every route as written, and
//! what a client gets for input the contract does not list.

use kalix_testkit::TestKit;
use serde_json::{Value, json};

async fn send(testkit: &TestKit, request: kalix_testkit::reqwest::RequestBuilder) -> (u16, Value) {
    let _ = testkit;
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_counter_counts_up_and_down_and_a_delete_is_for_good() {
    let testkit = TestKit::start().await;
    assert_eq!(
        send(&testkit, testkit.get("/counter/new")).await,
        (200, json!({"value": 0}))
    );
    let ok = (200, json!("Ok"));
    assert_eq!(
        send(
            &testkit,
            testkit
                .post("/counter/c1/increase")
                .json(&json!({"value": 5}))
        )
        .await,
        ok
    );
    assert_eq!(
        send(
            &testkit,
            testkit
                .post("/counter/c1/decrease")
                .json(&json!({"value": 2}))
        )
        .await,
        ok
    );
    assert_eq!(
        send(
            &testkit,
            testkit
                .post("/counter/c1/increase-all")
                .json(&json!({"value": 10}))
        )
        .await,
        ok
    );
    assert_eq!(
        send(
            &testkit,
            testkit
                .post("/counter/c1/increase")
                .json(&json!({"value": -1}))
        )
        .await,
        ok
    );
    assert_eq!(
        send(&testkit, testkit.get("/counter/c1")).await,
        (200, json!({"value": 12}))
    );

    assert_eq!(send(&testkit, testkit.delete("/counter/c1")).await, ok);
    let (status, problem) = send(&testkit, testkit.get("/counter/c1")).await;
    assert_eq!(status, 404, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("was deleted"),
        "{problem}"
    );
    for (status, problem) in [
        send(
            &testkit,
            testkit
                .post("/counter/c1/increase")
                .json(&json!({"value": 1})),
        )
        .await,
        send(&testkit, testkit.delete("/counter/c1")).await,
    ] {
        assert_eq!(status, 400, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("was deleted"),
            "{problem}"
        );
    }
    // Another id is untouched.
    assert_eq!(
        send(
            &testkit,
            testkit
                .post("/counter/c2/increase")
                .json(&json!({"value": 1}))
        )
        .await,
        ok
    );
    assert_eq!(
        send(&testkit, testkit.get("/counter/c2")).await,
        (200, json!({"value": 1}))
    );
    testkit.stop().await;
}

#[tokio::test]
async fn a_set_a_register_and_a_cart_answer_as_the_contract_says() {
    let testkit = TestKit::start().await;
    let ok = (200, json!("Ok"));
    for element in ["pear", "apple", "fig", "apple"] {
        assert_eq!(
            send(
                &testkit,
                testkit
                    .post("/set/s1/add")
                    .json(&json!({"element": element}))
            )
            .await,
            ok
        );
    }
    assert_eq!(
        send(
            &testkit,
            testkit
                .post("/set/s1/remove")
                .json(&json!({"element": "fig"}))
        )
        .await,
        ok
    );
    assert_eq!(
        send(
            &testkit,
            testkit
                .post("/set/s1/remove")
                .json(&json!({"element": "never"}))
        )
        .await,
        ok
    );
    assert_eq!(
        send(&testkit, testkit.get("/set/s1")).await,
        (200, json!({"elements": ["apple", "pear"]}))
    );
    assert_eq!(
        send(&testkit, testkit.get("/set/empty")).await,
        (200, json!({"elements": []}))
    );

    assert_eq!(
        send(&testkit, testkit.get("/register/r1")).await,
        (200, json!({"value": null}))
    );
    assert_eq!(
        send(
            &testkit,
            testkit.put("/register/r1").json(&json!({"value": "x"}))
        )
        .await,
        ok
    );
    assert_eq!(
        send(
            &testkit,
            testkit.put("/register/r1").json(&json!({"value": "y"}))
        )
        .await,
        ok
    );
    assert_eq!(
        send(&testkit, testkit.get("/register/r1")).await,
        (200, json!({"value": "y"}))
    );

    let add = |product: &str, quantity: i64| json!({"productId": product, "quantity": quantity});
    assert_eq!(
        send(&testkit, testkit.post("/cart/k1/add").json(&add("p1", 2))).await,
        ok
    );
    assert_eq!(
        send(&testkit, testkit.post("/cart/k1/add").json(&add("p1", 3))).await,
        ok
    );
    assert_eq!(
        send(&testkit, testkit.post("/cart/k1/add").json(&add("p2", 1))).await,
        ok
    );
    for quantity in [0, -4] {
        let (status, problem) = send(
            &testkit,
            testkit.post("/cart/k1/add").json(&add("p3", quantity)),
        )
        .await;
        assert_eq!(status, 400, "{problem}");
    }
    assert_eq!(
        send(&testkit, testkit.get("/cart/k1")).await,
        (200, json!({"items": {"p1": 5, "p2": 1}}))
    );
    assert_eq!(send(&testkit, testkit.post("/cart/k1/remove/p1")).await, ok);
    assert_eq!(
        send(&testkit, testkit.get("/cart/k1")).await,
        (200, json!({"items": {"p2": 1}}))
    );
    // Added again after its removal, a product starts from nothing.
    assert_eq!(
        send(&testkit, testkit.post("/cart/k1/add").json(&add("p1", 1))).await,
        ok
    );
    assert_eq!(
        send(&testkit, testkit.get("/cart/k1")).await,
        (200, json!({"items": {"p1": 1, "p2": 1}}))
    );
    testkit.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_4xx_that_changes_nothing() {
    let testkit = TestKit::start().await;
    let malformed = testkit
        .post("/counter/c1/increase")
        .header("content-type", "application/json")
        .body("{\"value\": ");
    assert_eq!(send(&testkit, malformed).await.0, 400);
    let wrong_type = testkit
        .post("/counter/c1/increase")
        .json(&json!({"value": "five"}));
    assert_eq!(send(&testkit, wrong_type).await.0, 400);
    let (status, problem) = send(&testkit, testkit.get("/counters/c1")).await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(
        send(&testkit, testkit.get("/counter/c1")).await,
        (200, json!({"value": 0}))
    );
    testkit.stop().await;
}

/// Durable before the reply: a service restarted on the same file has every acknowledged
/// change.
#[tokio::test]
async fn a_restarted_service_has_every_acknowledged_change() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("replicated.db");
    let start = || {
        let store = kalix_core::StoreLocation::Sqlite(file.clone());
        TestKit::builder()
            .config(move |config| config.with_store(store))
            .start()
    };
    let testkit = start().await;
    for _ in 0..3 {
        testkit
            .post("/counter/c1/increase")
            .json(&json!({"value": 2}))
            .send()
            .await
            .unwrap();
    }
    testkit
        .post("/set/s1/add")
        .json(&json!({"element": "a"}))
        .send()
        .await
        .unwrap();
    testkit.delete("/counter/gone").send().await.unwrap();
    testkit.stop().await;
    let testkit = start().await;
    assert_eq!(
        send(&testkit, testkit.get("/counter/c1")).await,
        (200, json!({"value": 6}))
    );
    assert_eq!(
        send(&testkit, testkit.get("/set/s1")).await,
        (200, json!({"elements": ["a"]}))
    );
    assert_eq!(send(&testkit, testkit.get("/counter/gone")).await.0, 404);
    testkit.stop().await;
}

/// A command sent again with its `Idempotency-Key` runs once: the repeat gets the kept reply,
/// marked as replayed, and the counter counts it once.
#[tokio::test]
async fn a_repeated_idempotency_key_counts_once() {
    let testkit = TestKit::start().await;
    let increase = |key: &str| {
        testkit
            .post("/counter/keyed/increase")
            .header("Idempotency-Key", key)
            .json(&json!({"value": 5}))
    };
    let first = increase("k1").send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(!first.headers().contains_key("idempotency-replayed"));
    let again = increase("k1").send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(again.headers().contains_key("idempotency-replayed"));
    // Another command in between, and the key once more.
    testkit
        .post("/counter/keyed/increase")
        .json(&json!({"value": 1}))
        .send()
        .await
        .unwrap();
    assert!(
        increase("k1")
            .send()
            .await
            .unwrap()
            .headers()
            .contains_key("idempotency-replayed")
    );
    assert_eq!(increase("k2").send().await.unwrap().status(), 200);
    assert_eq!(
        send(&testkit, testkit.get("/counter/keyed")).await,
        (200, json!({"value": 11}))
    );
    testkit.stop().await;
}

/// The typed component client reaches a replicated entity as it reaches any other.
#[tokio::test]
async fn the_component_client_calls_a_replicated_entity() {
    let testkit = TestKit::start().await;
    let client = testkit.component_client();
    let counter = client.replicated_entity::<replicated_entities::CounterEntity>("called");
    let reply = counter
        .increase(replicated_entities::Number { value: 3 })
        .await
        .unwrap();
    assert_eq!(reply, "Ok");
    let read = client
        .replicated_entity::<replicated_entities::CounterEntity>("called")
        .get()
        .await
        .unwrap();
    assert_eq!(read.value, 3);
    testkit.stop().await;
}

/// The admin API lists a replicated entity type's ids and shows each replica's row of one.
#[tokio::test]
async fn the_admin_api_lists_replicated_entities_and_their_replicas() {
    let testkit = TestKit::start().await;
    for (id, value) in [("b2", 2), ("a1", 5), ("a1", 1)] {
        let increase = testkit
            .post(&format!("/counter/{id}/increase"))
            .json(&json!({ "value": value }));
        assert_eq!(send(&testkit, increase).await.0, 200);
    }
    let admin = |path: &str| testkit.http().get(testkit.admin_url(path));
    let (status, listed) = send(&testkit, admin("/admin/entities/replicated-counter")).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["kind"], "replicated_entity");
    assert_eq!(listed["ids"], json!(["a1", "b2"]), "each id once, in order");

    let (status, entity) = send(&testkit, admin("/admin/entities/replicated-counter/a1")).await;
    assert_eq!(status, 200, "{entity}");
    let replicas = entity["replicas"].as_array().expect("a row per replica");
    assert_eq!(replicas.len(), 1, "one process, one replica: {entity}");
    assert_eq!(replicas[0]["version"], 2, "two writes: {entity}");
    assert_eq!(replicas[0]["deleted"], false);
    assert!(
        replicas[0]["data"].to_string().contains(r#""i":6"#),
        "the counter's data as stored, 5 + 1 increments: {entity}"
    );

    let (status, missing) = send(&testkit, admin("/admin/entities/replicated-counter/none")).await;
    assert_eq!(status, 404, "{missing}");
    assert!(missing.to_string().contains("never written"), "{missing}");
    testkit.stop().await;
}
