//! The subscription to the counter's changes (`CounterChangesAction`), seen over HTTP through
//! the mirror it keeps: each change and delete arrives, and after a SIGKILL the mirror catches up
//! with every change that was committed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kalix_testkit::{ServiceProcess, TestKit};
use serde_json::{Value, json};

use crate::kill::{Tally, load, read, until_acknowledged};

/// The mirror of `id` at `base`, read until it equals `expected` or 20 s have passed.
async fn mirror_until(base: &str, id: &str, expected: &Value) -> Value {
    let http = kalix_testkit::reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mirror: Value = http
            .get(format!("{base}/counter/{id}/mirror"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if &mirror == expected || Instant::now() > deadline {
            return mirror;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_subscriber_sees_each_change_and_the_delete() {
    let testkit = TestKit::start().await;
    let base = testkit.base_url().to_owned();
    assert_eq!(
        mirror_until(&base, "m1", &json!({"value": 0, "deleted": false})).await,
        json!({"value": 0, "deleted": false}),
        "nothing seen of a counter that never changed"
    );
    let increased = testkit
        .post("/counter/m1/increase")
        .json(&json!({"value": 5}))
        .send()
        .await
        .unwrap();
    assert!(increased.status().is_success());
    let expected = json!({"value": 5, "deleted": false});
    assert_eq!(mirror_until(&base, "m1", &expected).await, expected);

    let set = testkit
        .put("/counter/m1/set")
        .json(&json!({"value": 42}))
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success());
    let expected = json!({"value": 42, "deleted": false});
    assert_eq!(mirror_until(&base, "m1", &expected).await, expected);

    let deleted = testkit.delete("/counter/m1").send().await.unwrap();
    assert!(deleted.status().is_success());
    let expected = json!({"value": 42, "deleted": true});
    assert_eq!(
        mirror_until(&base, "m1", &expected).await,
        expected,
        "the delete handler ran with the counter's id"
    );
    // Another counter's changes are its own.
    testkit.post("/counter/m2/plusone").send().await.unwrap();
    let expected = json!({"value": 1, "deleted": false});
    assert_eq!(mirror_until(&base, "m2", &expected).await, expected);
    let m1 = json!({"value": 42, "deleted": true});
    assert_eq!(mirror_until(&base, "m1", &m1).await, m1);
    testkit.stop().await;
}

/// Changes committed right before a SIGKILL were perhaps not delivered yet: after a restart the
/// subscription resumes from its saved progress and the mirror reaches every counter's value.
#[tokio::test]
async fn after_sigkill_the_subscriber_catches_up_with_every_committed_change() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("counter.db").display());
    let env = [("KALIX_STORE", store.as_str())];
    let service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_valueentity-counter"), &env);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let ids: Vec<String> = (0..4).map(|i| format!("s{i}")).collect();
    let workers = load(
        vec![service.base_url().to_owned()],
        ids.clone(),
        8,
        usize::MAX,
        Arc::clone(&tally),
    );
    until_acknowledged(&tally, 300).await;
    service.signal("KILL");
    for worker in workers {
        worker.await.unwrap();
    }
    drop(service);

    let restarted = ServiceProcess::spawn(env!("CARGO_BIN_EXE_valueentity-counter"), &env);
    for id in &ids {
        let value = read(restarted.base_url(), id).await;
        assert!(value > 0, "counter {id} was increased");
        let expected = json!({"value": value, "deleted": false});
        assert_eq!(
            mirror_until(restarted.base_url(), id, &expected).await,
            expected,
            "the mirror of {id} caught up with its committed value"
        );
    }
}
