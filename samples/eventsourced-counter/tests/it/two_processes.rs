//! Two processes of the event-sourced counter on one PostgreSQL database. Run when
//! `KALIX_TEST_POSTGRES_URL` is set (`.ci/run` sets it and checks the marker in
//! `KALIX_TEST_MARKERS`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kalix_testkit::ServiceProcess;
use serde_json::Value;

#[tokio::test]
async fn two_processes_on_one_journal_end_at_exact_totals() {
    let Ok(url) = std::env::var("KALIX_TEST_POSTGRES_URL") else {
        eprintln!("KALIX_TEST_POSTGRES_URL is not set: the two-process test did not run");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("es_counter_{}_{nanos}", std::process::id());
    let env = [
        ("KALIX_STORE", url.as_str()),
        ("KALIX_POSTGRES_SCHEMA", schema.as_str()),
    ];
    let a = ServiceProcess::spawn(env!("CARGO_BIN_EXE_eventsourced-counter"), &env);
    let b = ServiceProcess::spawn(env!("CARGO_BIN_EXE_eventsourced-counter"), &env);
    let bases = [a.base_url().to_owned(), b.base_url().to_owned()];
    let http = kalix_testkit::reqwest::Client::new();
    let retried = Arc::new(AtomicI64::new(0));
    let workers: Vec<_> = (0..32)
        .map(|worker| {
            let (http, bases, retried) = (http.clone(), bases.clone(), Arc::clone(&retried));
            tokio::spawn(async move {
                for round in 0..100 {
                    let url = format!(
                        "{}/counter/e{}/increase/1",
                        bases[(worker + round) % 2],
                        (worker + round) % 4
                    );
                    // A 503 (a command that kept conflicting) is sent again, as a client would.
                    loop {
                        let response = http.post(&url).send().await.unwrap();
                        if response.status().is_success() {
                            break;
                        }
                        assert_eq!(response.status(), 503, "{}", response.text().await.unwrap());
                        retried.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    for id in 0..4 {
        for base in &bases {
            let body: Value = http
                .get(format!("{base}/counter/e{id}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                body,
                Value::String("800".to_owned()),
                "counter e{id} on {base}"
            );
        }
    }
    eprintln!(
        "requests answered 503 and sent again: {}",
        retried.load(Ordering::Relaxed)
    );
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(
            std::path::Path::new(&directory).join("postgres-two-processes-event-sourced"),
            "ran",
        )
        .unwrap();
    }
}
