//! Service-to-service streams: one copy of the service publishes its counters' events as the
//! stream `counter_events`; another, told where the first is, rebuilds each counter from it, and
//! catches up after either side restarts. Both keep their state in files of their own.

use std::path::Path;
use std::time::{Duration, Instant};

use kalix_core::StoreLocation;
use kalix_testkit::TestKit;
use serde_json::{Value, json};

async fn producer(directory: &Path, port: u16) -> TestKit {
    let store = StoreLocation::Sqlite(directory.join("producer.db"));
    TestKit::builder()
        .config(|config| config.with_store(store).with_port(port))
        .start()
        .await
}

async fn consumer(directory: &Path, producer_url: &str) -> TestKit {
    let store = StoreLocation::Sqlite(directory.join("consumer.db"));
    let producer_url = producer_url.to_owned();
    TestKit::builder()
        .config(|config| {
            config
                .with_store(store)
                .with_service_url("eventsourced-counter", producer_url)
        })
        .start()
        .await
}

async fn post(testkit: &TestKit, path: &str) {
    let response = testkit.post(path).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

/// The copy of `id` in `testkit`, read until it is `expected` or 20 s have passed.
async fn copy_until(testkit: &TestKit, id: &str, expected: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let copy: Value = testkit
            .get(&format!("/counter/{id}/copy"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if &copy == expected || Instant::now() > deadline {
            return copy;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_consumer_rebuilds_the_producers_counters_and_catches_up_after_restarts() {
    let directory = tempfile::tempdir().unwrap();
    let producing = producer(directory.path(), 0).await;
    let port = producing.port();
    let consuming = consumer(directory.path(), producing.base_url()).await;

    post(&producing, "/counter/s1/increase/3").await;
    post(&producing, "/counter/s1/multiply/4").await;
    post(&producing, "/counter/s2/increase/5").await;
    let expected = json!({"value": 12, "seq": 2});
    assert_eq!(copy_until(&consuming, "s1", &expected).await, expected);
    let expected = json!({"value": 5, "seq": 1});
    assert_eq!(copy_until(&consuming, "s2", &expected).await, expected);

    // The consumer restarts: it goes on from its own saved position.
    let producer_url = producing.base_url().to_owned();
    consuming.stop().await;
    post(&producing, "/counter/s1/increase/1").await;
    let consuming = consumer(directory.path(), &producer_url).await;
    let expected = json!({"value": 13, "seq": 3});
    assert_eq!(copy_until(&consuming, "s1", &expected).await, expected);

    // The producer restarts on the same port: the stream is in its store.
    producing.stop().await;
    let producing = producer(directory.path(), port).await;
    post(&producing, "/counter/s2/multiply/2").await;
    let expected = json!({"value": 10, "seq": 2});
    assert_eq!(copy_until(&consuming, "s2", &expected).await, expected);
    let expected = json!({"value": 13, "seq": 3});
    assert_eq!(copy_until(&consuming, "s1", &expected).await, expected);

    // The producer answers bad requests for its streams with a 4xx.
    let unknown = producing.get("/_kalix/streams/nope").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let bad = producing
        .get("/_kalix/streams/counter_events?after=yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let page: Value = producing
        .get("/_kalix/streams/counter_events?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    // Counters' events come in order per counter; between counters, in either order.
    let firsts = [r#"{"value":3}"#, r#"{"value":5}"#, r#"{"value":4}"#];
    for message in messages {
        assert!(
            firsts.contains(&message["body"].as_str().unwrap()),
            "{message}"
        );
    }
    consuming.stop().await;
    producing.stop().await;
}

#[tokio::test]
async fn the_service_reads_its_own_stream_with_no_address_set() {
    // As `cargo run -p eventsourced-counter` runs it: named after itself, with no
    // KALIX_SERVICE_EVENTSOURCED_COUNTER; its copy subscribes to its own `counter_events`.
    let testkit = TestKit::start().await;
    post(&testkit, "/counter/own/increase/7").await;
    let expected = json!({"value": 7, "seq": 1});
    assert_eq!(copy_until(&testkit, "own", &expected).await, expected);
}

#[tokio::test]
async fn stream_readers_get_bounded_pages_and_past_64_at_once_a_503() {
    let testkit = TestKit::start().await;
    for (query, expected) in [
        (
            "limit=0",
            "limit: expected a number from 1 to 1000, got '0'",
        ),
        (
            "limit=5000",
            "limit: expected a number from 1 to 1000, got '5000'",
        ),
        (
            "wait_ms=99999999999",
            "wait_ms: expected a number from 0 to 1000, got '99999999999'",
        ),
        (
            "wait_ms=-1",
            "wait_ms: expected a number from 0 to 1000, got '-1'",
        ),
    ] {
        let reply = testkit
            .get(&format!("/_kalix/streams/counter_events?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 400, "{query}");
        let problem: Value = reply.json().await.unwrap();
        assert_eq!(problem["detail"], expected);
    }
    // 80 readers at once at the (empty) stream's end, each waiting up to 1 s: 64 are served
    // (with no message), the others are told to retry.
    let readers = (0..80).map(|_| {
        let request = testkit
            .get("/_kalix/streams/counter_events?wait_ms=1000")
            .send();
        async move {
            let reply = request.await.unwrap();
            let status = reply.status().as_u16();
            (status, reply.json::<Value>().await.unwrap())
        }
    });
    let replies = futures_util::future::join_all(readers).await;
    let served = replies.iter().filter(|(status, _)| *status == 200).count();
    let refused: Vec<&Value> = replies
        .iter()
        .filter(|(status, _)| *status == 503)
        .map(|(_, body)| body)
        .collect();
    assert_eq!((served, refused.len()), (64, 16), "{replies:?}");
    assert_eq!(
        refused[0]["detail"],
        "stream 'counter_events' has 64 readers already, its limit; retry"
    );
    // Once they are done, a reader is served again, and sees what was published.
    post(&testkit, "/counter/r1/increase/2").await;
    let page: Value = testkit
        .get("/_kalix/streams/counter_events?wait_ms=1000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["messages"].as_array().unwrap().len(), 1, "{page}");
}

#[tokio::test]
async fn a_consumer_reads_a_producer_whose_store_was_made_again_from_its_start() {
    let directory = tempfile::tempdir().unwrap();
    let producing = producer(directory.path(), 0).await;
    let port = producing.port();
    let consuming = consumer(directory.path(), producing.base_url()).await;
    post(&producing, "/counter/m1/increase/1").await;
    post(&producing, "/counter/m1/increase/1").await;
    post(&producing, "/counter/m1/increase/1").await;
    let expected = json!({"value": 3, "seq": 3});
    assert_eq!(copy_until(&consuming, "m1", &expected).await, expected);

    // The producer comes back on the same address with a store of its own made anew: its
    // stream's offsets start over, below the position the consumer saved.
    producing.stop().await;
    let fresh = tempfile::tempdir().unwrap();
    let producing = producer(fresh.path(), port).await;
    post(&producing, "/counter/m2/increase/7").await;
    let expected = json!({"value": 7, "seq": 1});
    assert_eq!(copy_until(&consuming, "m2", &expected).await, expected);
    consuming.stop().await;
    producing.stop().await;
}
