//! Two processes of the counter on one PostgreSQL database. Run when `KALIX_TEST_POSTGRES_URL`
//! is set (`.ci/run` sets it and checks the markers these leave in `KALIX_TEST_MARKERS`).

use std::sync::{Arc, Mutex};

use kalix_testkit::ServiceProcess;

use crate::kill::{
    Answered, Tally, check, keyed_load, load, read, resend_all, until_acknowledged, until_answered,
};

fn postgres() -> Option<String> {
    let url = std::env::var("KALIX_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("KALIX_TEST_POSTGRES_URL is not set: the two-process tests did not run");
    }
    url
}

/// A schema of its own, so runs never collide and a dirty database does not matter.
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
        env!("CARGO_BIN_EXE_valueentity-counter"),
        &[("KALIX_STORE", url), ("KALIX_POSTGRES_SCHEMA", schema)],
    )
}

#[tokio::test]
async fn two_processes_on_one_database_end_at_exact_totals() {
    let Some(url) = postgres() else { return };
    let schema = fresh_schema("counter_two");
    let (a, b) = (spawn(&url, &schema), spawn(&url, &schema));
    // The second process finds the schema made; that is not news worth a log line.
    let notices: Vec<String> = b
        .log()
        .into_iter()
        .filter(|line| line.contains("NOTICE"))
        .collect();
    assert!(notices.is_empty(), "{notices:#?}");
    let bases = vec![a.base_url().to_owned(), b.base_url().to_owned()];
    let tally = Arc::new(Mutex::new(Tally::default()));
    let ids: Vec<String> = (0..4).map(|i| format!("shared{i}")).collect();
    for worker in load(bases.clone(), ids.clone(), 32, 100, Arc::clone(&tally)) {
        worker.await.unwrap();
    }
    let tally = tally.lock().unwrap().clone();
    assert_eq!(
        tally.acknowledged.values().sum::<i64>(),
        3200,
        "every increment was acknowledged"
    );
    for id in &ids {
        let expected = tally.acknowledged[id];
        // Each process reads every write, whichever process acknowledged it.
        assert_eq!(
            read(&bases[0], id).await,
            expected,
            "{id} on the first process"
        );
        assert_eq!(
            read(&bases[1], id).await,
            expected,
            "{id} on the second process"
        );
    }
    mark_ran("postgres-two-processes");
}

#[tokio::test]
async fn killing_one_of_two_processes_loses_nothing_acknowledged() {
    let Some(url) = postgres() else { return };
    let schema = fresh_schema("counter_kill");
    let (a, b) = (spawn(&url, &schema), spawn(&url, &schema));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let ids: Vec<String> = (0..4).map(|i| format!("k{i}")).collect();
    // One load on each process, so that the survivor's load goes on after the kill.
    let on_a = load(
        vec![a.base_url().to_owned()],
        ids.clone(),
        8,
        usize::MAX,
        Arc::clone(&tally),
    );
    let on_b = load(
        vec![b.base_url().to_owned()],
        ids.clone(),
        8,
        200,
        Arc::clone(&tally),
    );
    until_acknowledged(&tally, 300).await;
    a.signal("KILL");
    for worker in on_a.into_iter().chain(on_b) {
        worker.await.unwrap();
    }
    drop(a);
    let restarted = spawn(&url, &schema);
    let tally = tally.lock().unwrap().clone();
    check(restarted.base_url(), &tally).await;
    check(b.base_url(), &tally).await;
    mark_ran("postgres-kill-one-of-two");
}

/// The same key sent to both processes at once runs once: for an entity command (the store
/// refuses the second write of the key, and the loser finds the reply) and for an action (the
/// winner's claim on the key holds the other process until the reply replaces it). Both callers
/// get the same reply, one of them marked as replayed.
#[tokio::test]
async fn one_key_sent_to_two_processes_at_once_runs_once() {
    let Some(url) = postgres() else { return };
    let schema = fresh_schema("counter_keys");
    let (a, b) = (spawn(&url, &schema), spawn(&url, &schema));
    let http = kalix_testkit::reqwest::Client::new();
    let send = |base: &str, path: &str, key: String, body: serde_json::Value| {
        let request = http
            .post(format!("{base}{path}"))
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let replayed = response.headers().contains_key("idempotency-replayed");
            let body: serde_json::Value = response.json().await.unwrap();
            (status, replayed, body)
        }
    };
    let rounds = 30;
    for round in 0..rounds {
        let key = format!("race-{round}");
        let body = serde_json::json!({"value": 1});
        let (first, second) = tokio::join!(
            send(
                a.base_url(),
                "/counter/raced/increase",
                key.clone(),
                body.clone()
            ),
            send(b.base_url(), "/counter/raced/increase", key, body),
        );
        assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
        assert_eq!(first.2, second.2, "the same reply");
        assert!(
            first.1 ^ second.1,
            "one ran, one replayed: {first:?} {second:?}"
        );
    }
    assert_eq!(
        read(a.base_url(), "raced").await,
        rounds,
        "each key applied once"
    );
    // An action: its side effect (an increase by twice the value) happens once per key.
    for round in 0..rounds {
        let key = format!("double-{round}");
        let path = "/counter/doubled/double-increase/1";
        let (first, second) = tokio::join!(
            send(a.base_url(), path, key.clone(), serde_json::Value::Null),
            send(b.base_url(), path, key, serde_json::Value::Null),
        );
        assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
        assert!(
            first.1 ^ second.1,
            "one ran, one replayed: {first:?} {second:?}"
        );
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while read(a.base_url(), "doubled").await < 2 * rounds {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the side effects did not happen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        read(b.base_url(), "doubled").await,
        2 * rounds,
        "each action ran once"
    );
    mark_ran("postgres-idempotency-race");
}

/// Keyed increments spread over two processes, one killed with SIGKILL mid-load: every key sent
/// again to the survivor applies exactly once in all, whichever process ran it first, and the
/// keys answered before the kill are answered again with the same body.
#[tokio::test]
async fn keyed_commands_retried_on_the_survivor_of_a_sigkill_apply_exactly_once() {
    let Some(url) = postgres() else { return };
    let schema = fresh_schema("counter_keyed_kill");
    let (a, b) = (spawn(&url, &schema), spawn(&url, &schema));
    let keys: Vec<String> = (0..300).map(|i| format!("pg-kill-{i}")).collect();
    let answered = Answered::default();
    let bases = [a.base_url().to_owned(), b.base_url().to_owned()];
    let workers = keyed_load(&bases, &keys, 20, &answered);
    until_answered(&answered, 60).await;
    a.signal("KILL");
    for worker in workers {
        worker.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    resend_all(b.base_url(), &keys, &answered).await;
    assert_eq!(
        read(b.base_url(), "exact").await,
        keys.len() as i64,
        "each key applied exactly once"
    );
    mark_ran("postgres-idempotency-kill");
}
