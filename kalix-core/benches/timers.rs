//! Timers: how many are started per second, how many fired per second, and how late they fire
//! (fire time minus due time, p50 and p99) with 10,000 pending; on SQLite, then on PostgreSQL
//! with two services (as two processes) sharing one database.
//!
//! `cargo bench -p kalix-core --bench timers`. `BENCH_TIMERS` (default 10,000) timers per
//! round, started from `BENCH_CONCURRENCY` (default 64) tasks; `BENCH_POSTGRES_URL` (default
//! the local `test` database) for the PostgreSQL round, skipped when it does not answer.

#[path = "load.rs"]
mod load;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kalix_core::prelude::*;
use kalix_core::{RunningService, StoreLocation};
use load::env_or;
use serde::{Deserialize, Serialize};

/// When each timer fired, by its number, with how late (ms).
static FIRED: Mutex<Option<HashMap<u64, Vec<i64>>>> = Mutex::new(None);
static FIRED_COUNT: AtomicU64 = AtomicU64::new(0);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[derive(Clone, Serialize, Deserialize)]
struct Due {
    n: u64,
    due_ms: i64,
}

#[derive(Default)]
struct BenchTimers;

#[value_entity(type_id = "bench", id = "id")]
impl BenchTimers {
    #[get("/bench/<id>")]
    fn get(&self, state: &u64) -> value_entity::Effect<u64, u64> {
        value_entity::Effect::reply(*state)
    }
}

#[derive(Default)]
struct Target;

#[action]
impl Target {
    #[post("/bench/fire")]
    async fn fire(&self, due: Due) -> action::Effect<()> {
        let late = now_ms() - due.due_ms;
        FIRED
            .lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .entry(due.n)
            .or_default()
            .push(late);
        FIRED_COUNT.fetch_add(1, Ordering::Relaxed);
        action::Effect::reply(())
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Starts `count` timers due over `spread` from `concurrency` tasks through `services` in turn;
/// returns the rate they were started at.
async fn start_timers(
    services: &[&RunningService],
    count: u64,
    spread: Duration,
    concurrency: u64,
) -> f64 {
    // Every timer is started before the first falls due (10,000 pending), so lateness is
    // the firing's alone, not the starting's.
    let base = now_ms() + 2_000.max(count as i64);
    let next = std::sync::Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let client = services[worker as usize % services.len()].component_client();
            let next = std::sync::Arc::clone(&next);
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return;
                    }
                    let offset = (spread.as_millis() as u64 * n / count) as i64;
                    let due_ms = base + offset;
                    let delay = Duration::from_millis((due_ms - now_ms()).max(0) as u64);
                    let call = client.action::<Target>().fire(Due { n, due_ms });
                    client
                        .timers()
                        .start_single_timer(format!("bench-{n}"), delay, call)
                        .await
                        .expect("a timer starts");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// Waits until `count` timers fired; prints the figures.
async fn report(label: &str, count: u64, start_rate: f64) {
    let waited = Instant::now();
    while FIRED_COUNT.load(Ordering::Relaxed) < count {
        assert!(
            waited.elapsed() < Duration::from_secs(120),
            "timers did not all fire"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let fired = FIRED.lock().unwrap().take().unwrap_or_default();
    let twice = fired.values().filter(|l| l.len() > 1).count();
    let mut late: Vec<i64> = fired.values().map(|l| l[0]).collect();
    late.sort_unstable();
    println!(
        "{label}: {count} timers, started {start_rate:.0}/s; lateness p50 {} ms, p99 {} ms, max {} ms; fired twice: {twice}",
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        late.last().unwrap()
    );
    FIRED_COUNT.store(0, Ordering::Relaxed);
}

/// Fired per second: `count` timers all due at one instant, timed from that instant to the last.
async fn burst(services: &[&RunningService], count: u64, concurrency: u64, label: &str) {
    start_timers(services, count, Duration::ZERO, concurrency).await;
    let waited = Instant::now();
    // Wait for the first to fire, then time the rest.
    while FIRED_COUNT.load(Ordering::Relaxed) == 0 {
        assert!(waited.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let first = Instant::now();
    while FIRED_COUNT.load(Ordering::Relaxed) < count {
        assert!(
            first.elapsed() < Duration::from_secs(120),
            "timers did not all fire"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let rate = count as f64 / first.elapsed().as_secs_f64();
    FIRED.lock().unwrap().take();
    FIRED_COUNT.store(0, Ordering::Relaxed);
    println!("{label}: {count} timers due at once fired at {rate:.0}/s");
}

async fn service(store: StoreLocation) -> RunningService {
    let config = kalix_core::Config::default()
        .with_port(0)
        .with_admin_port(0)
        .with_store(store);
    kalix_core::Service::new()
        .config(config)
        .start()
        .await
        .expect("the service starts")
}

fn main() {
    let count: u64 = env_or("BENCH_TIMERS", 10_000);
    let concurrency: u64 = env_or("BENCH_CONCURRENCY", 64);
    let postgres: String = env_or(
        "BENCH_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test".to_owned(),
    );
    let directory = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sqlite = service(StoreLocation::Sqlite(directory.path().join("timers.db"))).await;
        let rate = start_timers(&[&sqlite], count, Duration::from_secs(5), concurrency).await;
        report("SQLite, due over 5 s", count, rate).await;
        burst(&[&sqlite], count, concurrency, "SQLite").await;
        sqlite.stop().await.expect("stops");

        let schema = format!("bench_timers_{}", std::process::id());
        let location = StoreLocation::Postgres {
            url: postgres.clone(),
            schema,
            timeouts: kalix_core::store::PostgresTimeouts::default(),
        };
        let Ok(first) = tokio::time::timeout(
            Duration::from_secs(5),
            kalix_core::Service::new()
                .config(
                    kalix_core::Config::default()
                        .with_port(0)
                        .with_admin_port(0)
                        .with_store(location.clone()),
                )
                .start(),
        )
        .await
        .map_err(|_| ())
        .and_then(|started| started.map_err(|_| ())) else {
            println!("PostgreSQL at {postgres} does not answer: its round is skipped");
            return;
        };
        let second = service(location).await;
        let rate = start_timers(
            &[&first, &second],
            count,
            Duration::from_secs(5),
            concurrency,
        )
        .await;
        report("PostgreSQL, two services, due over 5 s", count, rate).await;
        burst(
            &[&first, &second],
            count,
            concurrency,
            "PostgreSQL, two services",
        )
        .await;
        first.stop().await.expect("stops");
        second.stop().await.expect("stops");
    });
}
