//! Idempotency keys: a command sent again with the key it was sent with (a client retrying
//! after a lost reply, a workflow step run again) is answered as the first time and changes
//! nothing, through the component client and over HTTP, across a SIGKILL and restart.

use std::time::Duration;

use kalix_testkit::{ServiceProcess, TestKit};
use serde_json::{Value, json};
use valueentity_counter::{CounterEntity, Number};

use crate::http::value;
use crate::kill::{Answered, keyed_load, read, resend_all, until_answered};

/// `POST path` with `body` and, if given, an idempotency key.
async fn post(
    testkit: &TestKit,
    path: &str,
    key: Option<&str>,
    body: Value,
) -> (u16, Option<String>, Value) {
    let mut request = testkit.post(path).json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotency-replayed")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, replayed, response.json().await.unwrap())
}

/// The contract, exactly: the first send runs, the same send again is the kept reply,
/// the same key with another body is a 422 that runs nothing.
#[tokio::test]
async fn a_key_runs_its_command_once_and_refuses_another_body() {
    let testkit = TestKit::start().await;
    let increase = |body| post(&testkit, "/counter/c1/increase", Some("k1"), body);
    assert_eq!(
        increase(json!({"value": 5})).await,
        (200, None, json!({"value": 5}))
    );
    assert_eq!(
        increase(json!({"value": 5})).await,
        (200, Some("true".to_owned()), json!({"value": 5}))
    );
    assert_eq!(value(&testkit, "c1").await, 5);
    let response = testkit
        .post("/counter/c1/increase")
        .header("Idempotency-Key", "k1")
        .json(&json!({"value": 6}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 422);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("'k1'") && detail.contains("another request"),
        "{detail}"
    );
    assert_eq!(value(&testkit, "c1").await, 5, "the 422 ran nothing");
    // The key is scoped by the route's path parameters and the route: on another counter, or
    // on another route of this one, it is another command.
    assert_eq!(
        post(
            &testkit,
            "/counter/c2/increase",
            Some("k1"),
            json!({"value": 5})
        )
        .await,
        (200, None, json!({"value": 5}))
    );
    let set = testkit
        .put("/counter/c1/set")
        .header("Idempotency-Key", "k1")
        .json(&json!({"value": 40}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    assert_eq!(set.headers().get("idempotency-replayed"), None);
    assert_eq!(value(&testkit, "c1").await, 40);
}

/// A key that is not 1 to 255 printable ASCII characters, or two keys, is a 400 that runs
/// nothing; a `GET` ignores the header (a read runs every time).
#[tokio::test]
async fn a_malformed_key_is_refused_and_a_read_ignores_the_header() {
    let testkit = TestKit::start().await;
    for key in ["", "caf\u{e9}", &"x".repeat(256)] {
        let response = testkit
            .post("/counter/bad/increase")
            .header(
                "Idempotency-Key",
                kalix_testkit::reqwest::header::HeaderValue::from_bytes(key.as_bytes()).unwrap(),
            )
            .json(&json!({"value": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{key:?}");
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("printable ASCII"),
            "{problem}"
        );
    }
    let twice = testkit
        .post("/counter/bad/increase")
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .json(&json!({"value": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400, "two keys");
    assert_eq!(value(&testkit, "bad").await, 0);
    post(
        &testkit,
        "/counter/read/increase",
        None,
        json!({"value": 2}),
    )
    .await;
    for _ in 0..2 {
        let response = testkit
            .get("/counter/read")
            .header("Idempotency-Key", "r1")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers().get("idempotency-replayed"), None);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({"value": 2}));
    }
}

/// A 4xx is kept like a reply: sent again after the state changed, the key still answers the
/// refusal, and the refused command changed nothing either time.
#[tokio::test]
async fn a_refusal_is_kept_and_answered_again() {
    let testkit = TestKit::start().await;
    let set = |value: i64| {
        testkit
            .put("/counter/full/set")
            .json(&json!({ "value": value }))
            .send()
    };
    let increase = || {
        post(
            &testkit,
            "/counter/full/increase",
            Some("o1"),
            json!({"value": 1}),
        )
    };
    set(i64::MAX).await.unwrap();
    let (status, replayed, first) = increase().await;
    assert_eq!((status, replayed), (400, None));
    set(0).await.unwrap();
    let (status, replayed, again) = increase().await;
    assert_eq!((status, replayed.as_deref()), (400, Some("true")));
    assert_eq!(again, first, "the same problem body");
    assert_eq!(value(&testkit, "full").await, 0, "the repeat ran nothing");
}

/// An action's reply is kept when it completes: the repeat runs nothing, so its side effect
/// (an increase of the counter) happens once.
#[tokio::test]
async fn an_action_with_a_key_runs_once_and_its_side_effect_happens_once() {
    let testkit = TestKit::start().await;
    let double = || {
        post(
            &testkit,
            "/counter/act/double-increase/3",
            Some("d1"),
            json!(null),
        )
    };
    assert_eq!(double().await, (200, None, json!("ok")));
    assert_eq!(double().await, (200, Some("true".to_owned()), json!("ok")));
    // Sent at once: the second waits for the first run and gets its reply.
    let (a, b) = tokio::join!(
        post(
            &testkit,
            "/counter/act/double-increase/5",
            Some("d2"),
            json!(null)
        ),
        post(
            &testkit,
            "/counter/act/double-increase/5",
            Some("d2"),
            json!(null)
        ),
    );
    assert_eq!(
        (a.0, a.2.clone(), b.0, b.2.clone()),
        (200, json!("ok"), 200, json!("ok"))
    );
    assert_eq!(
        [a.1, b.1]
            .iter()
            .filter(|replayed| replayed.is_some())
            .count(),
        1,
        "one ran, one was answered with its reply"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while value(&testkit, "act").await != 16 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the side effects did not happen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(value(&testkit, "act").await, 16, "6 and 10, each once");
}

/// SIGKILL while keyed increments are in flight: a client that did not get its reply sends
/// the same key again after the restart, as every client does; each key is applied exactly
/// once, and the keys answered before the kill are answered with the same reply again.
#[tokio::test]
async fn keyed_commands_retried_across_sigkill_apply_exactly_once() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("counter.db").display());
    let env = [("KALIX_STORE", store.as_str())];
    let keys: Vec<String> = (0..400).map(|i| format!("kill-{i}")).collect();
    let service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_valueentity-counter"), &env);
    let answered = Answered::default();
    let workers = keyed_load(&[service.base_url().to_owned()], &keys, 25, &answered);
    until_answered(&answered, 100).await;
    service.signal("KILL");
    for worker in workers {
        worker.await.unwrap();
    }
    drop(service);
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() < keys.len(), "the kill came mid-load");

    let restarted = ServiceProcess::spawn(env!("CARGO_BIN_EXE_valueentity-counter"), &env);
    resend_all(restarted.base_url(), &keys, &answered).await;
    assert_eq!(
        read(restarted.base_url(), "exact").await,
        keys.len() as i64,
        "each key applied exactly once"
    );
}

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
