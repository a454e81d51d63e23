//! Idempotency keys: a command sent again with the key it was sent with (a client retrying
//! after a lost reply, a workflow step run again) is answered as the first time and changes
//! nothing, through the component client and over HTTP, across a SIGKILL and restart.

use kalix_testkit::{ServiceProcess, TestKit};
use serde_json::{Value, json};
use valueentity_counter::{CounterEntity, Number};

#[tokio::test]
async fn a_call_sent_again_with_its_key_is_answered_as_before_and_changes_nothing() {
    let testkit = TestKit::start().await;
    let counter = || {
        testkit
            .component_client()
            .value_entity::<CounterEntity>("keyed")
    };
    let first = counter()
        .increase(Number { value: 5 })
        .with_idempotency_key("k1")
        .await
        .unwrap();
    let again = counter()
        .increase(Number { value: 5 })
        .with_idempotency_key("k1")
        .await
        .unwrap();
    assert_eq!((first.value, again.value), (5, 5));
    // Another key is another command; without a key, every call runs.
    counter()
        .increase(Number { value: 1 })
        .with_idempotency_key("k2")
        .await
        .unwrap();
    counter().increase(Number { value: 1 }).await.unwrap();
    counter().increase(Number { value: 1 }).await.unwrap();
    assert_eq!(counter().get().await.unwrap().value, 8);
    // A key is the entity's: on another counter it runs.
    let other = testkit
        .component_client()
        .value_entity::<CounterEntity>("other")
        .increase(Number { value: 5 })
        .with_idempotency_key("k1")
        .await
        .unwrap();
    assert_eq!(other.value, 5);
    // Over HTTP, the header; a replay says so.
    let post = |key: &'static str, value: i64| {
        testkit
            .post("/counter/http/increase")
            .header("Idempotency-Key", key)
            .json(&json!({ "value": value }))
            .send()
    };
    let first = post("h1", 3).await.unwrap();
    assert_eq!(first.headers().get("idempotency-replayed"), None);
    assert_eq!(first.json::<Value>().await.unwrap(), json!({"value": 3}));
    let replayed = post("h1", 3).await.unwrap();
    assert_eq!(
        replayed.headers().get("idempotency-replayed").unwrap(),
        "true"
    );
    assert_eq!(replayed.json::<Value>().await.unwrap(), json!({"value": 3}));
    let too_long = post(Box::leak("x".repeat(256).into_boxed_str()), 3)
        .await
        .unwrap();
    assert_eq!(too_long.status(), 400);
    let counter: Value = testkit
        .get("/counter/http")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counter, json!({"value": 3}));
}

#[tokio::test]
async fn a_kept_reply_survives_sigkill_and_the_key_changes_nothing_after_the_restart() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("counter.db").display());
    let env = [("KALIX_STORE", store.as_str())];
    let http = kalix_testkit::reqwest::Client::new();
    let post = |base: String, key: &'static str| {
        http.post(format!("{base}/counter/durable/increase"))
            .header("Idempotency-Key", key)
            .json(&json!({"value": 10}))
            .send()
    };
    let service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_valueentity-counter"), &env);
    let first = post(service.base_url().to_owned(), "once").await.unwrap();
    assert_eq!(first.json::<Value>().await.unwrap(), json!({"value": 10}));
    service.signal("KILL");
    drop(service);

    let restarted = ServiceProcess::spawn(env!("CARGO_BIN_EXE_valueentity-counter"), &env);
    let again = post(restarted.base_url().to_owned(), "once").await.unwrap();
    assert_eq!(again.json::<Value>().await.unwrap(), json!({"value": 10}));
    let value: Value = http
        .get(format!("{}/counter/durable", restarted.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(value, json!({"value": 10}), "applied once");
}
