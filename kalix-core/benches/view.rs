//! Views: an indexed equality query through the framework beside a bare axum + SQLite handler
//! running the same indexed SELECT (same run, same machine), the lag of a view behind entity
//! writes, and how fast a new view is built from its source's feed.
//!
//! `cargo bench -p kalix-core --bench view`. Environment: `BENCH_ROWS` (default 1,000,000)
//! rows in the queried table, `BENCH_CONNECTIONS` (default 64), `BENCH_SECONDS` (default 5) per
//! query round, `BENCH_REBUILD_ROWS` (default 200,000) entities the view is built from,
//! `BENCH_WRITES_PER_SECOND` (default 5000) for the lag.

#[path = "load.rs"]
mod load;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use kalix_core::prelude::*;
use kalix_core::store::{ConsumerProgress, EntityStore, StateWrite, ViewRowWrite, Write};
use load::{compare, env_or, header};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Person {
    id: String,
    email: String,
    name: String,
    city: String,
}

#[derive(Default)]
struct PersonEntity;

#[value_entity(type_id = "person", id = "person_id")]
impl PersonEntity {
    #[put("/person/<person_id>")]
    fn put(&self, _state: &Person, #[body] person: Person) -> value_entity::Effect<Person, String> {
        value_entity::Effect::update_state(person).then_reply("OK".to_owned())
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Count {
    people: Vec<Person>,
    total: u64,
}

#[derive(Default)]
struct People;

#[view(table = "people")]
#[subscribe(value_entity = PersonEntity)]
impl People {
    #[get("/people/by_email/<email>")]
    #[query("SELECT * FROM people WHERE email = :email")]
    fn by_email(&self, email: String) -> Person;

    #[get("/people/count")]
    #[query("SELECT * AS people, COUNT(*) AS total FROM people LIMIT 0")]
    fn count(&self) -> Count;
}

fn person(n: u64) -> Person {
    Person {
        id: format!("p{n}"),
        email: format!("person{n}@example.com"),
        name: format!("Person {n}"),
        city: format!("City {}", n % 1000),
    }
}

fn json(person: &Person) -> Bytes {
    Bytes::from(serde_json::to_vec(person).unwrap())
}

/// The baseline: the same table, index and SELECT, from a pool of reader connections.
struct Baseline {
    readers: Vec<Mutex<rusqlite::Connection>>,
    next: std::sync::atomic::AtomicUsize,
}

fn baseline_db(path: &std::path::Path, rows: u64) -> Arc<Baseline> {
    let mut connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE people (view_key TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID;
             CREATE INDEX people_email ON people (json_extract(row, '$.email'));",
        )
        .unwrap();
    let transaction = connection.transaction().unwrap();
    {
        let mut insert = transaction
            .prepare("INSERT INTO people (view_key, row) VALUES (?1, ?2)")
            .unwrap();
        for n in 0..rows {
            let row = serde_json::to_string(&person(n)).unwrap();
            insert
                .execute(rusqlite::params![format!("p{n}"), row])
                .unwrap();
        }
    }
    transaction.commit().unwrap();
    let count = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let readers = (0..count)
        .map(|_| Mutex::new(rusqlite::Connection::open(path).unwrap()))
        .collect();
    Arc::new(Baseline {
        readers,
        next: std::sync::atomic::AtomicUsize::new(0),
    })
}

async fn baseline_by_email(
    State(db): State<Arc<Baseline>>,
    Path(email): Path<String>,
) -> Result<([(&'static str, &'static str); 1], String), StatusCode> {
    tokio::task::spawn_blocking(move || {
        let index = db.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % db.readers.len();
        let connection = db.readers[index].lock().unwrap();
        let mut statement = connection
            .prepare_cached(
                "SELECT view_key, row FROM people WHERE json_extract(row, '$.email') = ?1 \
                 ORDER BY view_key ASC LIMIT -1 OFFSET 0",
            )
            .unwrap();
        let mut rows = statement.query([email]).unwrap();
        match rows.next().unwrap() {
            Some(row) => Ok((
                [("content-type", "application/json")],
                row.get::<_, String>(1).unwrap(),
            )),
            None => Err(StatusCode::NOT_FOUND),
        }
    })
    .await
    .unwrap()
}

static ROWS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

fn by_email(worker: usize, sequence: u64) -> (&'static str, String, &'static str) {
    let rows = *ROWS.get().unwrap();
    let n = (sequence
        .wrapping_mul(2_654_435_761)
        .wrapping_add(worker as u64 * 7919))
        % rows;
    ("GET", format!("/people/by_email/person{n}@example.com"), "")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let rows: u64 = env_or("BENCH_ROWS", 1_000_000);
    let rebuild_rows: u64 = env_or("BENCH_REBUILD_ROWS", 200_000).min(rows);
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
    let writes_per_second: u64 = env_or("BENCH_WRITES_PER_SECOND", 5000);
    ROWS.set(rows).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let path = directory.path().join("framework.db");
        // 1. Build: entities written before the service starts; the new view reads them all.
        {
            let store = kalix_core::store::SqliteStore::open(&path).unwrap();
            for chunk in (0..rebuild_rows).collect::<Vec<_>>().chunks(5000) {
                let writes = chunk
                    .iter()
                    .map(|n| {
                        Write::State(StateWrite {
                            type_id: "person".to_owned(),
                            entity_id: format!("p{n}"),
                            expected_version: 0,
                            follows_own_write: false,
                            payload: Some(json(&person(*n))),
                            timers: Vec::new(),
                            kept_reply: None,
                            trace_parent: None,
                        })
                    })
                    .collect();
                store.commit(writes).await.unwrap();
            }
        }
        let config = kalix_core::Config::default()
            .with_port(0).with_admin_port(0)
            .with_store(kalix_core::StoreLocation::Sqlite(path.clone()));
        let started = Instant::now();
        let framework = kalix_core::Service::new().config(config).start().await.expect("framework starts");
        let address = framework.local_addr();
        let http = reqwest::Client::new();
        loop {
            let count: Count = http
                .get(format!("http://{address}/people/count"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if count.total >= rebuild_rows {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let built = started.elapsed();
        println!(
            "view build from the feed: {rebuild_rows} rows in {built:.2?}: {:.0} rows/s",
            rebuild_rows as f64 / built.as_secs_f64()
        );

        // 2. Queries: fill the table to `rows`, and the baseline with the same rows.
        let store = framework.store();
        let fill_started = Instant::now();
        let mut n = rebuild_rows;
        while n < rows {
            let end = (n + 10_000).min(rows);
            let writes = (n..end)
                .map(|k| ViewRowWrite {
                    key: format!("p{k}"),
                    row: Some(json(&person(k))),
                })
                .collect();
            store
                .commit_view("people", writes, "bench:fill", ConsumerProgress::default(), None)
                .await
                .unwrap();
            n = end;
        }
        println!("filled the view to {rows} rows in {:.2?}", fill_started.elapsed());
        let baseline = baseline_db(&directory.path().join("baseline.db"), rows);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let baseline_address = listener.local_addr().unwrap();
        let router = axum::Router::new()
            .route("/people/by_email/{email}", get(baseline_by_email))
            .with_state(baseline);
        tokio::spawn(async move { axum::serve(listener, router).await });

        println!(
            "equality query on an indexed column, {rows} rows, {connections} connections, 2 rounds x {seconds}s"
        );
        println!("{}", header());
        let names = ["bare axum + SQLite", "kalix view query"];
        compare(baseline_address, address, connections, seconds, by_email, names).await;

        // 3. Lag: entity writes at a steady rate; each sampled write is looked up in the view
        // until it appears.
        let interval = Duration::from_secs_f64(1.0 / writes_per_second as f64);
        let lags = Arc::new(Mutex::new(Vec::new()));
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        let mut next = Instant::now();
        let mut k = rows;
        let mut tasks = Vec::new();
        while Instant::now() < until {
            next += interval;
            k += 1;
            let (http, lags, sample) = (http.clone(), Arc::clone(&lags), k.is_multiple_of(50));
            tasks.push(tokio::spawn(async move {
                let fresh = person(k);
                let response = http
                    .put(format!("http://{address}/person/p{k}"))
                    .json(&fresh)
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                if !sample {
                    return;
                }
                let acknowledged = Instant::now();
                loop {
                    let found = http
                        .get(format!("http://{address}/people/by_email/{}", fresh.email))
                        .send()
                        .await
                        .unwrap();
                    if found.status().is_success() {
                        lags.lock().unwrap().push(acknowledged.elapsed());
                        return;
                    }
                    tokio::time::sleep(Duration::from_micros(500)).await;
                }
            }));
            tokio::time::sleep_until(next.into()).await;
        }
        for task in tasks {
            task.await.unwrap();
        }
        let mut lags = lags.lock().unwrap().clone();
        lags.sort_unstable();
        println!(
            "view lag at {writes_per_second} writes/s ({} samples): p50 {:.2?}, p99 {:.2?}",
            lags.len(),
            percentile(&lags, 0.5),
            percentile(&lags, 0.99)
        );
        framework.stop().await.expect("the service stops");
    });
}
