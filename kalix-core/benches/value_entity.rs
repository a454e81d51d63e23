//! Durable value-entity increments through the framework, beside a bare axum + SQLite
//! group-commit baseline in the same run; then resident memory while touching 100,000 entities.
//!
//! `cargo bench -p kalix-core --bench value_entity`. Both servers reply only after the increment
//! is committed to an SQLite file in WAL mode with `synchronous=FULL`, and both batch concurrent
//! commits into one transaction. Scenarios: 1000 random ids, and one hot id; `BENCH_CONNECTIONS`
//! connections (default 64) for `BENCH_SECONDS` (default 5) per round, two alternating rounds
//! each. `BENCH_ENTITIES` (default 100000) entities are touched for the memory figure.
//! `BENCH_ONLY=keys` runs only the cost of idempotency keys: the same increments with a new key
//! each (its reply kept in the increment's transaction) and without, rounds alternating.

#[path = "load.rs"]
mod load;
#[path = "support/recording.rs"]
mod recording;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::post;
use kalix_core::prelude::*;
use load::{Budget, env_or, header, load, load_keyed, load_with};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

#[derive(Clone, Copy, Default, Serialize, Deserialize)]
struct Number {
    value: i64,
}

#[derive(Default)]
struct CounterEntity;

#[value_entity(type_id = "counter", id = "counter_id")]
impl CounterEntity {
    #[post("/counter/<counter_id>/increase")]
    fn increase(
        &self,
        counter: &Number,
        #[body] by: Number,
    ) -> value_entity::Effect<Number, Number> {
        let value = Number {
            value: counter.value + by.value,
        };
        value_entity::Effect::update_state(value).then_reply(value)
    }
}

/// The baseline: an axum handler that queues an upsert for a writer thread, which commits
/// whatever has queued in one transaction and answers each request with its new value.
struct Increment {
    id: String,
    by: i64,
    done: oneshot::Sender<i64>,
}

fn start_baseline_writer(path: &std::path::Path) -> mpsc::UnboundedSender<Increment> {
    let mut connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS counters (id TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
    let (queue, mut receiver) = mpsc::unbounded_channel::<Increment>();
    std::thread::spawn(move || {
        while let Some(first) = receiver.blocking_recv() {
            let mut batch = vec![first];
            while let Ok(next) = receiver.try_recv() {
                batch.push(next);
            }
            let transaction = connection.transaction().unwrap();
            let mut values = Vec::with_capacity(batch.len());
            {
                let mut upsert = transaction
                    .prepare_cached(
                        "INSERT INTO counters (id, value) VALUES (?1, ?2) \
                         ON CONFLICT (id) DO UPDATE SET value = value + excluded.value RETURNING value",
                    )
                    .unwrap();
                for increment in &batch {
                    values.push(
                        upsert
                            .query_row(rusqlite::params![increment.id, increment.by], |row| {
                                row.get(0)
                            })
                            .unwrap(),
                    );
                }
            }
            transaction.commit().unwrap();
            for (increment, value) in batch.into_iter().zip(values) {
                let _ = increment.done.send(value);
            }
        }
    });
    queue
}

async fn baseline_increase(
    State(queue): State<Arc<mpsc::UnboundedSender<Increment>>>,
    Path(id): Path<String>,
    Json(by): Json<Number>,
) -> Json<Number> {
    let (done, value) = oneshot::channel();
    queue
        .send(Increment {
            id,
            by: by.value,
            done,
        })
        .unwrap();
    Json(Number {
        value: value.await.unwrap(),
    })
}

fn random_id(worker: usize, sequence: u64) -> (&'static str, String, &'static str) {
    // A cheap spread over 1000 ids that differs per worker.
    let id = (sequence
        .wrapping_mul(2_654_435_761)
        .wrapping_add(worker as u64 * 97))
        % 1000;
    ("POST", format!("/counter/c{id}/increase"), r#"{"value":1}"#)
}

fn hot_id(_: usize, _: u64) -> (&'static str, String, &'static str) {
    ("POST", "/counter/hot/increase".to_owned(), r#"{"value":1}"#)
}

fn new_id(_: usize, _: u64) -> (&'static str, String, &'static str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    ("POST", format!("/counter/m{id}/increase"), r#"{"value":1}"#)
}

fn resident_megabytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn print_recording(on: &recording::Measured, off: &recording::Measured, scenario: &str) {
    println!("{}", on.figures.row(&format!("recording on, {scenario}")));
    println!("{}", off.figures.row(&format!("recording off, {scenario}")));
    println!(
        "ratio on / off, {scenario}: {:.3} requests/s; CPU per request {:?} on, {:?} off",
        on.figures.throughput() / off.figures.throughput(),
        on.cpu_per_request,
        off.cpu_per_request
    );
}

fn main() {
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
    let entities: usize = env_or("BENCH_ENTITIES", 100_000);
    let round = Duration::from_secs_f64(seconds);
    let directory = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        recording::install();
        let config = kalix_core::Config::default()
            .with_port(0).with_admin_port(0)
            .with_store(kalix_core::StoreLocation::Sqlite(directory.path().join("framework.db")));
        let max_active = config.max_active_entities;
        let framework = kalix_core::Service::new().config(config).start().await.expect("framework starts");
        let framework_address = framework.local_addr();

        let queue = Arc::new(start_baseline_writer(&directory.path().join("baseline.db")));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let baseline_address = listener.local_addr().unwrap();
        let router = axum::Router::new()
            .route("/counter/{id}/increase", post(baseline_increase))
            .with_state(queue);
        tokio::spawn(async move { axum::serve(listener, router).await });

        let only: String = env_or("BENCH_ONLY", String::new());
        if only != "keys" {
        println!(
            "durable increments, {connections} connections, 2 rounds x {seconds}s per scenario, SQLite WAL synchronous=FULL"
        );
        println!("{}", header());
        let warm_up = Duration::from_secs_f64((seconds / 5.0).max(0.5));
        for (scenario, make) in [("1000 random ids", random_id as load::MakeRequest), ("one hot id", hot_id)] {
            load(baseline_address, connections, warm_up, make).await;
            load(framework_address, connections, warm_up, make).await;
            let mut baseline = load(baseline_address, connections, round, make).await;
            let mut framework_figures = load(framework_address, connections, round, make).await;
            baseline = baseline.merge(load(baseline_address, connections, round, make).await);
            framework_figures = framework_figures.merge(load(framework_address, connections, round, make).await);
            println!("{}", baseline.row(&format!("axum+sqlite, {scenario}")));
            println!("{}", framework_figures.row(&format!("kalix-core, {scenario}")));
            println!(
                "ratio kalix-core / baseline, {scenario}: {:.3}",
                framework_figures.throughput() / baseline.throughput()
            );
        }

        // What recording metrics costs: the recorder switched on and off against the same service.
        println!("metrics recording, same service, rounds on/off/off/on:");
        for (scenario, make) in [("1000 random ids", random_id as load::MakeRequest), ("one hot id", hot_id)] {
            let (on, off) =
                recording::on_and_off(|| load(framework_address, connections, round, make)).await;
            print_recording(&on, &off, scenario);
        }
        println!(
            "commands recorded: {}; the recording of one request timed alone: {:?}",
            recording::recorded("kalix_command_duration_seconds_count"),
            recording::recording_per_request()
        );

        }

        // After the rest: the replies it keeps would weigh on the figures measured after it.
        if only == "keys" || only.is_empty() {
            println!("idempotency keys, same service, {connections} connections, rounds with/without/without/with:");
            println!("{}", header());
            for (scenario, make) in [("1000 random ids", random_id as load::MakeRequest), ("one hot id", hot_id)] {
                load(framework_address, connections, Duration::from_secs(1), make).await;
                let mut keyed = load_keyed(framework_address, connections, round, make).await;
                let mut plain = load(framework_address, connections, round, make).await;
                plain = plain.merge(load(framework_address, connections, round, make).await);
                keyed = keyed.merge(load_keyed(framework_address, connections, round, make).await);
                println!("{}", keyed.row(&format!("with a key, {scenario}")));
                println!("{}", plain.row(&format!("without, {scenario}")));
                println!(
                    "ratio with a key / without, {scenario}: {:.3}",
                    keyed.throughput() / plain.throughput()
                );
            }
            if only == "keys" {
                framework.stop().await.unwrap();
                return;
            }
        }

        // Memory: new ids only, so every request makes an entity active; the bound on active
        // entities (KALIX_MAX_ACTIVE_ENTITIES, default {max_active}) should keep it flat.
        println!("resident memory while touching {entities} new entities (active bound {max_active}):");
        println!("  before: {:.1} MB", resident_megabytes());
        let per_quarter = (entities / connections / 4).max(1) as u64;
        let mut touched = 0;
        for _ in 0..4 {
            touched += load_with(framework_address, connections, Budget::Requests(per_quarter), new_id).await.requests;
            println!("  after {touched:>7} entities: {:.1} MB", resident_megabytes());
        }
        framework.stop().await.unwrap();
    });
}
