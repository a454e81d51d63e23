//! Load isolation: another client's command rate while background work or idle readers load the
//! service, as a ratio to its rate alone (goal >= 0.5x), and what an idle service costs.
//!
//! - 200 `stream_updates` view streams open over 1,000 rows that do not change (and the CPU
//!   they cost while nothing is written);
//! - 300 readers long-polling a service stream at its end (a reader told to retry waits 1 s);
//! - 2,000 workflows whose step fails every time (retried forever, with backoff; measured last,
//!   as they go on);
//! - idle: CPU seconds per minute of a service with an entity subscription, a topic
//!   subscription, a view, a stream and a workflow, with nothing to do.
//!
//! `cargo bench -p kalix-core --bench isolation` (SQLite on a file). `BENCH_SECONDS` (default 5)
//! per measurement, `BENCH_CONNECTIONS` (default 16) for the other client.

#[path = "load.rs"]
mod load;

use std::net::SocketAddr;
use std::time::Duration;

use kalix_core::prelude::*;
use kalix_core::workflow::Effect;
use kalix_core::{RunningService, StoreLocation};
use load::{Figures, env_or};
use serde::{Deserialize, Serialize};

/// The other client's entity: a tally it adds to.
#[derive(Default)]
struct Tally;

#[value_entity(type_id = "iso-tally", id = "id")]
impl Tally {
    #[post("/tally/<id>/add/<n>")]
    fn add(&self, total: &i64, n: i64) -> value_entity::Effect<i64, i64> {
        value_entity::Effect::update_state(total + n).then_reply(total + n)
    }
}

/// A score, viewed by the update streams.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Score {
    pub player: String,
    pub points: i64,
}

#[derive(Default)]
struct ScoreEntity;

#[value_entity(type_id = "iso-score", id = "id")]
impl ScoreEntity {
    #[put("/score/<id>")]
    fn set(&self, _score: &Score, #[body] score: Score) -> value_entity::Effect<Score, String> {
        value_entity::Effect::update_state(score).then_reply("ok".to_owned())
    }
}

#[derive(Default)]
struct Scores;

#[view(table = "iso_scores")]
#[subscribe(value_entity = ScoreEntity)]
impl Scores {
    #[get("/scores/stream")]
    #[query("SELECT * FROM iso_scores WHERE points >= 0", stream_updates = true)]
    pub fn stream(&self) -> QueryStream<Score>;
}

/// Publishes to the service stream the readers poll.
#[derive(Default)]
struct Feed;

#[action]
impl Feed {
    #[post("/feed/<n>")]
    #[publish(stream = "iso_feed")]
    async fn publish(&self, n: i64) -> action::Effect<i64> {
        action::Effect::reply(n)
    }
}

/// Consumes the scores' changes and a topic: consumers with nothing to do while idle.
#[derive(Default)]
struct Consumers;

#[action]
impl Consumers {
    #[subscribe(value_entity = ScoreEntity)]
    async fn on_score(&self, _score: Score) -> action::Effect<()> {
        action::Effect::reply(())
    }

    #[subscribe(topic = "iso-topic")]
    async fn on_topic(&self, _n: i64) -> action::Effect<()> {
        action::Effect::reply(())
    }
}

/// A workflow whose one step always fails: retried forever.
#[derive(Default)]
struct Stuck;

#[workflow(type_id = "iso-stuck", id = "id")]
impl Stuck {
    #[put("/stuck/<id>")]
    fn start(&self, state: Option<&u64>) -> Effect<Self, u64, String> {
        let _ = state;
        Effect::update_state(0)
            .transition_to(Self::CALL_MISSING, ())
            .then_reply("started".to_owned())
    }

    #[step]
    async fn call_missing(&self) -> StepResult<Self, u64> {
        Err(CallError::new(
            ErrorCode::NOT_FOUND,
            "Wallet [missing] not exists",
        ))
    }
}

fn other_client(worker: usize, sequence: u64) -> (&'static str, String, &'static str) {
    let _ = sequence;
    ("POST", format!("/tally/t{worker}/add/1"), "")
}

/// The other client's commands per second, over `seconds`.
async fn other_rate(address: SocketAddr, connections: usize, seconds: u64) -> Figures {
    load::load(
        address,
        connections,
        Duration::from_secs(seconds),
        other_client,
    )
    .await
}

fn cpu_seconds() -> f64 {
    // utime and stime, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

async fn service(path: std::path::PathBuf) -> RunningService {
    let config = kalix_core::Config::default()
        .with_port(0)
        .with_admin_port(0)
        .with_store(StoreLocation::Sqlite(path))
        .with_service_name("isolation");
    kalix_core::Service::new()
        .config(config)
        .start()
        .await
        .expect("the service starts")
}

fn row(name: &str, alone: &Figures, loaded: &Figures) {
    println!(
        "{:<44} {:>10.0} {:>10.0} {:>7.2}x {:>10.2?}",
        name,
        alone.throughput(),
        loaded.throughput(),
        loaded.throughput() / alone.throughput(),
        loaded.percentile(0.50)
    );
}

fn main() {
    let seconds: u64 = env_or("BENCH_SECONDS", 5);
    let connections: usize = env_or("BENCH_CONNECTIONS", 16);
    let directory = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let running = service(directory.path().join("isolation.db")).await;
        let address = running.local_addr();
        let http = reqwest::Client::new();
        let base = format!("http://{address}");

        // Idle first: nothing written yet but the service's own start.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = cpu_seconds();
        tokio::time::sleep(Duration::from_secs(10)).await;
        let idle = (cpu_seconds() - before) * 6.0;
        println!("idle: {idle:.2} CPU seconds per minute (10 s measured)");

        println!(
            "{:<44} {:>10} {:>10} {:>8} {:>10}",
            "the other client's commands beside", "alone/s", "loaded/s", "ratio", "p50"
        );
        let alone = other_rate(address, connections, seconds).await;

        // 200 view update streams over 1,000 rows that do not change.
        for n in 0..1_000 {
            let score = Score {
                player: format!("p{n}"),
                points: n,
            };
            http.put(format!("{base}/score/p{n}"))
                .json(&score)
                .send()
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let streams: Vec<_> = (0..200)
            .map(|_| {
                let (http, base) = (http.clone(), base.clone());
                tokio::spawn(async move {
                    use futures_util::StreamExt;
                    let reply = http.get(format!("{base}/scores/stream")).send().await;
                    if let Ok(reply) = reply {
                        let mut body = reply.bytes_stream();
                        while body.next().await.is_some() {}
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let before = cpu_seconds();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let streaming_idle = (cpu_seconds() - before) * 12.0;
        let loaded = other_rate(address, connections, seconds).await;
        row("200 view streams open over 1,000 rows", &alone, &loaded);
        println!(
            "200 open view streams, nothing written: {streaming_idle:.2} CPU seconds per minute"
        );
        for stream in streams {
            stream.abort();
        }

        // 300 readers long-polling a stream at its end.
        http.post(format!("{base}/feed/1")).send().await.unwrap();
        // The readers wait after the stream's last message, as a consumer that caught up does.
        let page: serde_json::Value = http
            .get(format!("{base}/_kalix/streams/iso_feed"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let end = page["messages"][0]["offset"].as_str().unwrap().to_owned();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let polls = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let readers: Vec<_> = (0..300)
            .map(|_| {
                let (http, base, stop) = (http.clone(), base.clone(), std::sync::Arc::clone(&stop));
                let end = end.clone();
                let polls = std::sync::Arc::clone(&polls);
                tokio::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        polls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let reply = http
                            .get(format!(
                                "{base}/_kalix/streams/iso_feed?after={end}&wait_ms=1000"
                            ))
                            .send()
                            .await;
                        // A reader told to retry (the stream's readers are at their limit)
                        // waits as the answer's Retry-After says.
                        match reply {
                            Ok(reply) if reply.status() == 503 => {
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                            Ok(reply) => {
                                let _ = reply.bytes().await;
                            }
                            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let loaded = other_rate(address, connections, seconds).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            let _ = reader.await;
        }
        row("300 readers long-polling a stream", &alone, &loaded);
        println!(
            "  (their requests: {} in {} s)",
            polls.load(std::sync::atomic::Ordering::Relaxed),
            seconds + 1
        );

        // 2,000 workflows retrying a failing step.
        for n in 0..2_000 {
            let reply = http.put(format!("{base}/stuck/s{n}")).send().await.unwrap();
            assert!(reply.status().is_success());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let loaded = other_rate(address, connections, seconds).await;
        row("2,000 workflows retrying a failing step", &alone, &loaded);

        running.stop().await.expect("stops");
    });
}
