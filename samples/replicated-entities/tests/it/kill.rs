//! SIGKILL mid-load on SQLite: every increment acknowledged before the kill is there after a
//! restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use kalix_testkit::ServiceProcess;
use serde_json::json;

/// Sends `{"value": 1}` increases of counter `id` to `base` from `workers` tasks until the
/// process stops answering (or `per_worker` each), counting the acknowledged ones.
pub fn load(
    base: String,
    id: &str,
    workers: usize,
    per_worker: usize,
    acknowledged: Arc<AtomicI64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let http = kalix_testkit::reqwest::Client::new();
    (0..workers)
        .map(|_| {
            let (http, base, id, acknowledged) = (
                http.clone(),
                base.clone(),
                id.to_owned(),
                Arc::clone(&acknowledged),
            );
            tokio::spawn(async move {
                for _ in 0..per_worker {
                    let request = http
                        .post(format!("{base}/counter/{id}/increase"))
                        .json(&json!({"value": 1}));
                    match request.send().await {
                        Ok(response) if response.status().is_success() => {
                            acknowledged.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect()
}

/// The counter `id` as `base` reads it.
pub async fn read(base: &str, id: &str) -> i64 {
    let body: serde_json::Value = kalix_testkit::reqwest::get(format!("{base}/counter/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["value"].as_i64().unwrap()
}

/// Waits until `count` increments are acknowledged.
pub async fn until(acknowledged: &AtomicI64, count: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.load(Ordering::SeqCst) < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "too little was acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn acknowledged_increments_survive_sigkill() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!(
        "sqlite://{}",
        directory.path().join("replicated.db").display()
    );
    let env = [("KALIX_STORE", store.as_str())];
    let binary = env!("CARGO_BIN_EXE_replicated-entities");
    let service = ServiceProcess::spawn(binary, &env);
    let acknowledged = Arc::new(AtomicI64::new(0));
    let workers = load(
        service.base_url().to_owned(),
        "hot",
        16,
        usize::MAX,
        Arc::clone(&acknowledged),
    );
    until(&acknowledged, 300).await;
    service.signal("KILL");
    for worker in workers {
        worker.await.unwrap();
    }
    drop(service);
    let restarted = ServiceProcess::spawn(binary, &env);
    let value = read(restarted.base_url(), "hot").await;
    let acknowledged = acknowledged.load(Ordering::SeqCst);
    // Each sent increment was acknowledged or not; an unacknowledged one may have committed.
    assert!(
        value >= acknowledged,
        "{value} < {acknowledged} acknowledged"
    );
    assert!(value <= acknowledged + 16, "{value}: more than was sent");
}
