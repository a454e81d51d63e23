//! Two and three processes on one PostgreSQL database. Run when `KALIX_TEST_POSTGRES_URL` is
//! set (`.ci/run` sets it and checks the marker these leave in `KALIX_TEST_MARKERS`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use kalix_testkit::ServiceProcess;
use serde_json::json;

use crate::kill::{load, read, until};

fn postgres() -> Option<String> {
    let url = std::env::var("KALIX_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!(
            "KALIX_TEST_POSTGRES_URL is not set: the replicated entities' process tests did not run"
        );
    }
    url
}

/// A schema of its own, so runs never collide.
fn fresh_schema(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}_{}_{nanos}", std::process::id())
}

fn mark_ran(name: &str) {
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(std::path::Path::new(&directory).join(name), "ran").unwrap();
    }
}

fn spawn(url: &str, schema: &str) -> ServiceProcess {
    ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_replicated-entities"),
        &[
            ("KALIX_STORE", url),
            ("KALIX_POSTGRES_SCHEMA", schema),
            // An `All` write waits half of it for confirmations.
            ("KALIX_REQUEST_TIMEOUT_MS", "4000"),
        ],
    )
}

/// Waits until every base reads `expected` for counter `id`; how long it took.
async fn converged(bases: &[&str], id: &str, expected: i64, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let mut values = Vec::new();
        for base in bases {
            values.push(read(base, id).await);
        }
        if values.iter().all(|value| *value == expected) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{id}: {values:?} after {within:?}, expected {expected} on every process"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn processes_on_one_database_converge_and_lose_nothing_acknowledged() {
    let Some(url) = postgres() else { return };
    let schema = fresh_schema("replicated");
    let (a, b) = (spawn(&url, &schema), spawn(&url, &schema));

    // Increments sent to both at once converge to the exact sum on both within 2 s.
    let acknowledged = Arc::new(AtomicI64::new(0));
    let workers: Vec<_> = [a.base_url(), b.base_url()]
        .into_iter()
        .flat_map(|base| load(base.to_owned(), "hot", 8, 50, Arc::clone(&acknowledged)))
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(acknowledged.load(Ordering::SeqCst), 800);
    converged(
        &[a.base_url(), b.base_url()],
        "hot",
        800,
        Duration::from_secs(2),
    )
    .await;

    // After `increase-all` is answered on one, the other shows it at once.
    let http = kalix_testkit::reqwest::Client::new();
    for round in 1..=5 {
        let response = http
            .post(format!("{}/counter/all/increase-all", a.base_url()))
            .json(&json!({"value": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        assert_eq!(
            read(b.base_url(), "all").await,
            round,
            "read on the other process at once"
        );
    }

    // A set edited on both converges too, sorted.
    for (base, element) in [
        (a.base_url(), "b"),
        (b.base_url(), "a"),
        (a.base_url(), "c"),
    ] {
        http.post(format!("{base}/set/s1/add"))
            .json(&json!({"element": element}))
            .send()
            .await
            .unwrap();
    }
    let bases = [a.base_url().to_owned(), b.base_url().to_owned()];
    kalix_testkit::eventually(|| {
        let (http, bases) = (http.clone(), bases.clone());
        async move {
            for base in &bases {
                let body: serde_json::Value = http
                    .get(format!("{base}/set/s1"))
                    .send()
                    .await
                    .map_err(|error| error.to_string())?
                    .json()
                    .await
                    .map_err(|error| error.to_string())?;
                if body != json!({"elements": ["a", "b", "c"]}) {
                    return Err(format!("{base}: {body}"));
                }
            }
            Ok(())
        }
    })
    .await;

    // A row too large to travel with its notice is read from the store.
    let large = "x".repeat(9000);
    http.post(format!("{}/set/s1/add", b.base_url()))
        .json(&json!({"element": large}))
        .send()
        .await
        .unwrap();
    let on_a = format!("{}/set/s1", a.base_url());
    kalix_testkit::eventually(|| {
        let (http, on_a, large) = (http.clone(), on_a.clone(), large.clone());
        async move {
            let body: serde_json::Value = http
                .get(&on_a)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            match body["elements"]
                .as_array()
                .is_some_and(|all| all.iter().any(|e| e == &json!(large)))
            {
                true => Ok(()),
                false => Err("the large element has not arrived".to_owned()),
            }
        }
    })
    .await;

    // SIGKILL of one loses no acknowledged `Local` write once it restarts.
    let acknowledged = Arc::new(AtomicI64::new(0));
    let on_a = load(
        a.base_url().to_owned(),
        "killed",
        8,
        usize::MAX,
        Arc::clone(&acknowledged),
    );
    let on_b = load(
        b.base_url().to_owned(),
        "killed",
        8,
        40,
        Arc::clone(&acknowledged),
    );
    until(&acknowledged, 200).await;
    a.signal("KILL");
    for worker in on_a.into_iter().chain(on_b) {
        worker.await.unwrap();
    }
    drop(a);
    let restarted = spawn(&url, &schema);
    let acknowledged = acknowledged.load(Ordering::SeqCst);
    for base in [restarted.base_url(), b.base_url()] {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let value = read(base, "killed").await;
            if value >= acknowledged {
                assert!(value <= acknowledged + 8, "{value}: more than was sent");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{base}: {value} < {acknowledged} acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    mark_ran("postgres-replicated-entities");
}

#[tokio::test]
async fn three_processes_converge_and_an_all_write_is_read_everywhere_at_once() {
    let Some(url) = postgres() else { return };
    let schema = fresh_schema("replicated_three");
    let processes = [
        spawn(&url, &schema),
        spawn(&url, &schema),
        spawn(&url, &schema),
    ];
    let bases: Vec<&str> = processes.iter().map(ServiceProcess::base_url).collect();
    // Every process must count the others before an `All` write means all three.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let acknowledged = Arc::new(AtomicI64::new(0));
    let workers: Vec<_> = bases
        .iter()
        .flat_map(|base| load(base.to_string(), "hot", 4, 50, Arc::clone(&acknowledged)))
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    converged(&bases, "hot", 600, Duration::from_secs(2)).await;
    let http = kalix_testkit::reqwest::Client::new();
    let response = http
        .post(format!("{}/counter/all/increase-all", bases[2]))
        .json(&json!({"value": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for base in &bases {
        assert_eq!(read(base, "all").await, 7, "{base} at once");
    }

    // A process that cannot answer (stopped, its lease still live) cannot confirm: the `All`
    // write is a 503 saying it applied here and will still replicate, and it does.
    processes[1].signal("STOP");
    let response = http
        .post(format!("{}/counter/all/increase-all", bases[0]))
        .json(&json!({"value": 1}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let problem: serde_json::Value = response.json().await.unwrap();
    processes[1].signal("CONT");
    assert_eq!(status, 503, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("applied on this process and will still reach the others"),
        "{problem}"
    );
    converged(&bases, "all", 8, Duration::from_secs(2)).await;
    mark_ran("postgres-replicated-three-processes");
}
