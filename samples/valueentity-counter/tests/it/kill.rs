//! SIGKILL mid-load: every increment acknowledged before the kill is there after a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kalix_testkit::ServiceProcess;
use serde_json::{Value, json};

/// Per counter id: increments sent, and increments acknowledged.
#[derive(Clone, Default)]
pub struct Tally {
    pub sent: HashMap<String, i64>,
    pub acknowledged: HashMap<String, i64>,
}

/// Sends increments to `ids` from `workers` tasks spread over `bases`, until a base stops
/// answering; a 503 (a command that kept conflicting) is sent again, as a client would.
pub fn load(
    bases: Vec<String>,
    ids: Vec<String>,
    workers: usize,
    per_worker: usize,
    tally: Arc<Mutex<Tally>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let http = kalix_testkit::reqwest::Client::new();
    (0..workers)
        .map(|worker| {
            let (http, bases, ids, tally) =
                (http.clone(), bases.clone(), ids.clone(), Arc::clone(&tally));
            tokio::spawn(async move {
                for round in 0..per_worker {
                    let base = &bases[(worker + round) % bases.len()];
                    let id = &ids[(worker * 7 + round) % ids.len()];
                    *tally.lock().unwrap().sent.entry(id.clone()).or_default() += 1;
                    loop {
                        let request = http
                            .post(format!("{base}/counter/{id}/increase"))
                            .json(&json!({"value": 1}));
                        match request.send().await {
                            Ok(response) if response.status().is_success() => {
                                *tally
                                    .lock()
                                    .unwrap()
                                    .acknowledged
                                    .entry(id.clone())
                                    .or_default() += 1;
                                break;
                            }
                            Ok(response) if response.status() == 503 => continue,
                            // The process is gone: stop this worker.
                            _ => return,
                        }
                    }
                }
            })
        })
        .collect()
}

/// The value of counter `id` as `base` reads it.
pub async fn read(base: &str, id: &str) -> i64 {
    let body: Value = kalix_testkit::reqwest::get(format!("{base}/counter/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["value"].as_i64().unwrap()
}

/// Waits until `count` increments are acknowledged.
pub async fn until_acknowledged(tally: &Mutex<Tally>, count: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tally.lock().unwrap().acknowledged.values().sum::<i64>() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service acknowledged too little"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every acknowledged increment is there, and no more than were sent.
pub async fn check(base: &str, tally: &Tally) {
    for (id, sent) in &tally.sent {
        let acknowledged = tally.acknowledged.get(id).copied().unwrap_or(0);
        let value = read(base, id).await;
        assert!(
            value >= acknowledged,
            "counter {id}: {value} after restart, but {acknowledged} increments were acknowledged"
        );
        assert!(
            value <= *sent,
            "counter {id}: {value} after restart, but only {sent} increments were sent"
        );
    }
}

/// `POST /counter/exact/increase` by 1 with idempotency key `key`: the body and whether it was
/// replayed, or `None` if the service did not answer with a success.
pub async fn send_keyed(base: String, key: String) -> Option<(Value, bool)> {
    let response = kalix_testkit::reqwest::Client::new()
        .post(format!("{base}/counter/exact/increase"))
        .header("Idempotency-Key", &key)
        .json(&json!({"value": 1}))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let replayed = response.headers().contains_key("idempotency-replayed");
    Some((response.json().await.ok()?, replayed))
}

/// The replies to keyed increments, by key.
pub type Answered = Arc<Mutex<HashMap<String, Value>>>;

/// Sends `keys` in chunks of `chunk`, each chunk from its own task to `bases` in turn, noting each
/// reply in `answered`; a task stops at the first request not answered.
pub fn keyed_load(
    bases: &[String],
    keys: &[String],
    chunk: usize,
    answered: &Answered,
) -> Vec<tokio::task::JoinHandle<()>> {
    keys.chunks(chunk)
        .enumerate()
        .map(|(task, keys)| {
            let (keys, base, answered) = (
                keys.to_vec(),
                bases[task % bases.len()].clone(),
                Arc::clone(answered),
            );
            tokio::spawn(async move {
                for key in keys {
                    let Some((body, _)) = send_keyed(base.clone(), key.clone()).await else {
                        return;
                    };
                    answered.lock().unwrap().insert(key, body);
                }
            })
        })
        .collect()
}

/// Waits until `count` keyed increments are answered.
pub async fn until_answered(answered: &Answered, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while answered.lock().unwrap().len() < count {
        assert!(tokio::time::Instant::now() < deadline, "too few answers");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Sends every key again to `base`: each is answered, and a key answered before (in `answered`)
/// is replayed with the same body.
pub async fn resend_all(base: &str, keys: &[String], answered: &HashMap<String, Value>) {
    for key in keys {
        let (body, replayed) = send_keyed(base.to_owned(), key.clone())
            .await
            .expect("answered when sent again");
        if let Some(before) = answered.get(key) {
            assert!(replayed, "{key} was answered before: a replay now");
            assert_eq!(&body, before, "{key}: the same reply");
        }
    }
}

#[tokio::test]
async fn acknowledged_increments_survive_sigkill() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("counter.db").display());
    let env = [("KALIX_STORE", store.as_str())];
    let service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_valueentity-counter"), &env);

    let tally = Arc::new(Mutex::new(Tally::default()));
    let ids = (0..4).map(|i| format!("k{i}")).collect();
    let workers = load(
        vec![service.base_url().to_owned()],
        ids,
        16,
        usize::MAX,
        Arc::clone(&tally),
    );
    until_acknowledged(&tally, 400).await;
    service.signal("KILL");
    for worker in workers {
        worker.await.unwrap();
    }
    drop(service);

    let restarted = ServiceProcess::spawn(env!("CARGO_BIN_EXE_valueentity-counter"), &env);
    let tally = tally.lock().unwrap().clone();
    check(restarted.base_url(), &tally).await;
}
