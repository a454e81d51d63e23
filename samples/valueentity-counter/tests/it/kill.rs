//! SIGKILL mid-load: every increment acknowledged before the kill is there after a restart.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// Kills the child if the test fails before it does.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(database: &std::path::Path) -> (Service, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_valueentity-counter"))
        .env("KALIX_HTTP_PORT", "0")
        .env("KALIX_STORE", format!("sqlite://{}", database.display()))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the counter binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines.next().expect("the service logs its address").unwrap();
        if let Some(rest) = line.split("local_addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining the log so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Service(child), format!("http://{address}"))
}

#[tokio::test]
async fn acknowledged_increments_survive_sigkill() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("counter.db");
    let (service, base) = start(&database);

    const IDS: usize = 4;
    let acknowledged: Arc<Mutex<HashMap<usize, i64>>> = Arc::default();
    let sent: Arc<Mutex<HashMap<usize, i64>>> = Arc::default();
    let http = kalix_testkit::reqwest::Client::new();
    let workers: Vec<_> = (0..16)
        .map(|worker| {
            let (http, base) = (http.clone(), base.clone());
            let (acknowledged, sent) = (Arc::clone(&acknowledged), Arc::clone(&sent));
            tokio::spawn(async move {
                for round in 0.. {
                    let id = (worker + round) % IDS;
                    *sent.lock().unwrap().entry(id).or_default() += 1;
                    let request = http
                        .post(format!("{base}/counter/k{id}/increase"))
                        .json(&json!({"value": 1}));
                    match request.send().await {
                        Ok(response) if response.status().is_success() => {
                            *acknowledged.lock().unwrap().entry(id).or_default() += 1;
                        }
                        // The process is gone: stop.
                        _ => return,
                    }
                }
            })
        })
        .collect();

    // Let the load run until a good number of increments are acknowledged, then kill -9.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().values().sum::<i64>() < 400 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service acknowledged too little"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = Command::new("kill")
        .args(["-KILL", &service.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    for worker in workers {
        worker.await.unwrap();
    }
    drop(service);

    let (_restarted, base) = start(&database);
    let acknowledged = acknowledged.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    for id in 0..IDS {
        let body: Value = http
            .get(format!("{base}/counter/k{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let value = body["value"].as_i64().unwrap();
        let (acked, tried) = (
            acknowledged.get(&id).copied().unwrap_or(0),
            sent.get(&id).copied().unwrap_or(0),
        );
        assert!(
            value >= acked,
            "counter k{id}: {value} after restart, but {acked} increments were acknowledged"
        );
        assert!(
            value <= tried,
            "counter k{id}: {value} after restart, but only {tried} increments were sent"
        );
    }
}
