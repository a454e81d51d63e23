//! The `counter_totals` view: each event applied exactly once. A view's value must reach the
//! entity's and never pass it; with increments of 1 its event count equals the value, so an
//! event applied twice, or lost, shows. Checked in-process, after SIGKILL on SQLite, and on
//! PostgreSQL with two processes, one killed while the view is being updated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eventsourced_counter::CounterEntity;
use eventsourced_counter::CounterEvent;
use kalix_testkit::{ServiceProcess, TestKit};
use serde_json::{Value, json};

async fn get(url: &str) -> (u16, Value) {
    let response = kalix_testkit::reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The entity's value of `id` at `base`.
async fn entity_value(base: &str, id: &str) -> i64 {
    let (_, body) = get(&format!("{base}/counter/{id}")).await;
    body.as_str().unwrap().parse().unwrap()
}

/// Waits until the view's row of `id` reaches `value` (or 30 s pass); returns the row.
async fn view_until(base: &str, id: &str, value: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, row) = get(&format!("{base}/counter/{id}/total")).await;
        if (status == 200 && row["value"].as_i64() >= Some(value)) || Instant::now() > deadline {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_view_folds_each_event_once_and_answers_range_queries() {
    let testkit = TestKit::start().await;
    let base = testkit.base_url().to_owned();
    assert_eq!(get(&format!("{base}/counter/t1/total")).await.0, 404);
    for (id, by) in [("t1", 3), ("t2", 10), ("t3", 7)] {
        testkit
            .post(&format!("/counter/{id}/increase/{by}"))
            .send()
            .await
            .unwrap();
    }
    testkit.post("/counter/t1/multiply/5").send().await.unwrap();
    let row = view_until(&base, "t1", 15).await;
    assert_eq!(row, json!({"counterId": "t1", "value": 15, "events": 2}));
    view_until(&base, "t3", 7).await;
    let (_, at_least) = get(&format!("{base}/counters/at_least/7?limit=10")).await;
    let ids: Vec<&str> = at_least
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["counterId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["t1", "t2", "t3"], "largest first");
    let (_, limited) = get(&format!("{base}/counters/at_least/0?limit=1")).await;
    assert_eq!(limited.as_array().unwrap().len(), 1);
    let (status, problem) = get(&format!("{base}/counters/at_least/0?limit=-1")).await;
    assert_eq!(status, 400, "{problem}");
    let (status, _) = get(&format!("{base}/counters/at_least/seven?limit=1")).await;
    assert_eq!(status, 400, "a path parameter of the wrong type");

    // Events injected into the journal, without the entity, reach the view.
    testkit
        .inject_events::<CounterEntity>(
            "injected",
            &[
                CounterEvent::ValueIncreased { value: 2 },
                CounterEvent::ValueMultiplied { value: 21 },
            ],
        )
        .await;
    let row = view_until(&base, "injected", 42).await;
    assert_eq!(row["events"], 2);
    testkit.stop().await;
}

/// Sends `increase/1` to `ids` round-robin over `bases` from 16 workers until `stop` is set or
/// a base stops answering.
fn load(bases: Vec<String>, ids: usize, stop: Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<()>> {
    let http = kalix_testkit::reqwest::Client::new();
    (0..16)
        .map(|worker| {
            let (http, bases, stop) = (http.clone(), bases.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut round = 0;
                while !stop.load(Ordering::Relaxed) {
                    let base = &bases[(worker + round) % bases.len()];
                    let url = format!("{base}/counter/v{}/increase/1", (worker * 3 + round) % ids);
                    round += 1;
                    match http.post(&url).send().await {
                        Ok(response) if response.status().is_success() => {}
                        Ok(response) if response.status() == 503 => {}
                        _ => return,
                    }
                }
            })
        })
        .collect()
}

/// Every counter's view row reaches its entity's value exactly: value == events == entity.
async fn check_exact(base: &str, ids: usize) {
    for id in 0..ids {
        let id = format!("v{id}");
        let expected = entity_value(base, &id).await;
        let row = view_until(base, &id, expected).await;
        assert_eq!(
            (row["value"].as_i64(), row["events"].as_i64()),
            (Some(expected), Some(expected)),
            "counter {id}: the view must hold each of its {expected} events once: {row}"
        );
    }
}

#[tokio::test]
async fn after_sigkill_mid_update_the_view_applies_each_event_exactly_once() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("counter.db").display());
    let env = [("KALIX_STORE", store.as_str())];
    let binary = env!("CARGO_BIN_EXE_eventsourced-counter");
    let service = ServiceProcess::spawn(binary, &env);
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(vec![service.base_url().to_owned()], 8, Arc::clone(&stop));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    service.signal("KILL");
    for worker in workers {
        worker.await.unwrap();
    }
    drop(service);
    let restarted = ServiceProcess::spawn(binary, &env);
    check_exact(restarted.base_url(), 8).await;
}

#[tokio::test]
async fn on_postgres_two_processes_one_killed_the_view_stays_exact() {
    let Ok(url) = std::env::var("KALIX_TEST_POSTGRES_URL") else {
        eprintln!("KALIX_TEST_POSTGRES_URL is not set: the PostgreSQL view test did not run");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("es_view_{}_{nanos}", std::process::id());
    let env = [
        ("KALIX_STORE", url.as_str()),
        ("KALIX_POSTGRES_SCHEMA", schema.as_str()),
    ];
    let binary = env!("CARGO_BIN_EXE_eventsourced-counter");
    let a = ServiceProcess::spawn(binary, &env);
    let b = ServiceProcess::spawn(binary, &env);
    // One of them updates the view; kill that one, mid-update.
    let holds = |process: &ServiceProcess| {
        process
            .log()
            .iter()
            .any(|line| line.contains("view:counter_totals") && line.contains("holds the lease"))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !holds(&a) && !holds(&b) {
        assert!(
            Instant::now() < deadline,
            "neither process took the view's lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (holder, survivor) = if holds(&a) { (a, b) } else { (b, a) };
    let stop = Arc::new(AtomicBool::new(false));
    let bases = vec![holder.base_url().to_owned(), survivor.base_url().to_owned()];
    let workers = load(bases, 8, Arc::clone(&stop));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Every process serves the view's queries, also the one not updating it.
    let (status, rows) = get(&format!(
        "{}/counters/at_least/0?limit=100",
        survivor.base_url()
    ))
    .await;
    assert_eq!(status, 200);
    assert!(
        !rows.as_array().unwrap().is_empty(),
        "the other process reads the rows: {rows}"
    );
    holder.signal("KILL");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    drop(holder);
    // Events after the kill, which only a process that took the view over can apply.
    let http = kalix_testkit::reqwest::Client::new();
    for id in 0..8 {
        let url = format!("{}/counter/v{id}/increase/1", survivor.base_url());
        assert!(http.post(&url).send().await.unwrap().status().is_success());
    }
    // The survivor takes the view over and serves its queries.
    check_exact(survivor.base_url(), 8).await;
    assert!(holds(&survivor), "the survivor took the view over");
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(
            std::path::Path::new(&directory).join("postgres-view-failover"),
            "ran",
        )
        .unwrap();
    }
}
