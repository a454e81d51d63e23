//! The subscription to the counter's events (`CounterEventsAction`), seen over HTTP through the
//! event log it keeps: every event, in order per counter, in one process and across two processes
//! on one PostgreSQL database when the one consuming is killed.

use std::time::{Duration, Instant};

use kalix_testkit::{ServiceProcess, TestKit};
use serde_json::{Value, json};

/// The event log of `id` at `base`, read until it holds `count` events or 30 s have passed.
async fn events_until(base: &str, id: &str, count: usize) -> Vec<Value> {
    let http = kalix_testkit::reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log: Vec<Value> = http
            .get(format!("{base}/counter/{id}/events"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if log.len() >= count || Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn post(base: &str, path: &str) {
    let response = kalix_testkit::reqwest::Client::new()
        .post(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

/// The subscription delivers to many counters at once (each counter's events in order): with
/// many counters written side by side, every log holds every event once, in order.
#[tokio::test]
async fn with_many_counters_written_at_once_each_log_is_complete_and_in_order() {
    let testkit = TestKit::start().await;
    let base = testkit.base_url().to_owned();
    let (counters, events) = (24, 12);
    let writers: Vec<_> = (0..counters)
        .map(|counter| {
            let base = base.clone();
            tokio::spawn(async move {
                for _ in 0..events {
                    post(&base, &format!("/counter/many{counter}/increase/1")).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    for counter in 0..counters {
        let log = events_until(&base, &format!("many{counter}"), events).await;
        let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=events as u64).collect::<Vec<_>>(),
            "counter many{counter}"
        );
    }
}

#[tokio::test]
async fn a_subscriber_sees_every_event_in_order() {
    let testkit = TestKit::start().await;
    let base = testkit.base_url().to_owned();
    post(&base, "/counter/c1/increase/3").await;
    post(&base, "/counter/c1/multiply/4").await;
    post(&base, "/counter/c2/increase/7").await;
    post(&base, "/counter/c1/increase/1").await;
    assert_eq!(
        events_until(&base, "c1", 3).await,
        [
            json!({"seq": 1, "event": {"ValueIncreased": {"value": 3}}}),
            json!({"seq": 2, "event": {"ValueMultiplied": {"value": 4}}}),
            json!({"seq": 3, "event": {"ValueIncreased": {"value": 1}}}),
        ]
    );
    assert_eq!(
        events_until(&base, "c2", 1).await,
        [json!({"seq": 1, "event": {"ValueIncreased": {"value": 7}}})]
    );
    // A subscription that takes only increases skipped the multiplication.
    let http = kalix_testkit::reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let expected = json!({"total": 4, "seq": 3});
    loop {
        let increases: Value = http
            .get(format!("{base}/counter/c1/increases"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if increases == expected || Instant::now() > deadline {
            assert_eq!(increases, expected);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    testkit.stop().await;
}

/// Two processes share the database and split the subscription's slices of counters between
/// them (each slice consumed by the one holding its lease). One is killed with events not yet
/// delivered; the other takes its slices over and every event of every counter arrives, in
/// order.
#[tokio::test]
async fn on_postgres_the_other_process_takes_over_the_subscription_after_sigkill() {
    let Ok(url) = std::env::var("KALIX_TEST_POSTGRES_URL") else {
        eprintln!("KALIX_TEST_POSTGRES_URL is not set: the subscription failover test did not run");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("es_subscription_{}_{nanos}", std::process::id());
    let env = [
        ("KALIX_STORE", url.as_str()),
        ("KALIX_POSTGRES_SCHEMA", schema.as_str()),
        ("RUST_LOG", "info"),
    ];
    // The slices of the event log's subscription a process has taken, by name.
    let slices_taken = |process: &ServiceProcess| {
        let mut slices: Vec<String> = process
            .log()
            .iter()
            .filter(|line| line.contains("holds the lease"))
            .filter_map(|line| {
                let start = line.find("CounterEventsAction@counter#")?;
                Some(line[start..].split_whitespace().next()?.to_owned())
            })
            .collect();
        slices.sort();
        slices.dedup();
        slices
    };
    let holds_lease = |process: &ServiceProcess| !slices_taken(process).is_empty();
    let a = ServiceProcess::spawn(env!("CARGO_BIN_EXE_eventsourced-counter"), &env);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !holds_lease(&a) {
        assert!(
            Instant::now() < deadline,
            "the first process never consumed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b = ServiceProcess::spawn(env!("CARGO_BIN_EXE_eventsourced-counter"), &env);
    let ids = ["f0", "f1", "f2", "f3"];
    for round in 0..25 {
        for (n, id) in ids.iter().enumerate() {
            let base = if (round + n) % 2 == 0 {
                a.base_url()
            } else {
                b.base_url()
            };
            post(base, &format!("/counter/{id}/increase/1")).await;
        }
    }
    // The second process gets its share once the first hands slices over.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !holds_lease(&b) {
        assert!(Instant::now() < deadline, "the work was never shared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.signal("KILL");
    drop(a);
    for _ in 0..25 {
        for id in ids {
            post(b.base_url(), &format!("/counter/{id}/increase/1")).await;
        }
    }
    for id in ids {
        let log = events_until(b.base_url(), id, 50).await;
        let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=50).collect::<Vec<u64>>(),
            "counter {id}: every event, in order"
        );
    }
    assert_eq!(
        slices_taken(&b).len(),
        4,
        "the second process took every slice over: {:?}",
        slices_taken(&b)
    );
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(
            std::path::Path::new(&directory).join("postgres-subscription-failover"),
            "ran",
        )
        .unwrap();
    }
}

#[tokio::test]
async fn an_idle_service_wakes_its_consumers_on_commits_instead_of_polling_the_store() {
    let store = kalix_testkit::CountingStore::new(std::sync::Arc::new(
        kalix_core::store::SqliteStore::memory().unwrap(),
    ));
    let testkit = kalix_testkit::TestKit::builder()
        .store(store.store())
        .start()
        .await;
    let reads = || store.calls("read_feed") + store.calls("read_topic");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before = reads();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let idle = reads() - before;
    // Each consumer looks once a second at most while nothing is written (every 20 ms before:
    // some 800 reads in 2 s for this service's consumers).
    assert!(idle < 100, "{idle} reads in 2 s of idling");
    // A commit wakes them at once: the subscriber sees the event.
    let response = testkit
        .post("/counter/idle/increase/4")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let started = std::time::Instant::now();
    while reads() == before + idle && started.elapsed() < std::time::Duration::from_secs(5) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(reads() > before + idle, "the commit woke the consumers");
    testkit.stop().await;
}
