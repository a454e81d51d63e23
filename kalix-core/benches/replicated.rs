//! Replicated entities against value entities on one hot id, across two services sharing one
//! PostgreSQL schema (two processes of a service, as far as the store is concerned), in the
//! same run; then how long a write on one takes to be read on the other.
//!
//! `cargo bench -p kalix-core --bench replicated`. Needs PostgreSQL: `BENCH_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`); each run uses a fresh schema.
//! `BENCH_CONNECTIONS` connections in all (default 64, half to each service), `BENCH_SECONDS`
//! per round (default 5), rounds alternating value, replicated, replicated, value. A value
//! entity's hot id moves between the two services (a command finding it changed elsewhere runs
//! again; one that keeps losing is refused with a 503, counted apart); a replicated entity's
//! does not. Then `BENCH_SAMPLES` (default 200) increments on one service, each timed until the
//! other reads it: the convergence time, p50 and p99.

#[path = "load.rs"]
mod load;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kalix_core::prelude::*;
use kalix_core::replicated_entity::ReplicatedCounter;
use load::{Figures, MakeRequest, REFUSED, env_or, header, load_lenient};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Default, Serialize, Deserialize)]
struct Number {
    value: i64,
}

#[derive(Default)]
struct ValueCounter;

#[value_entity(type_id = "counter", id = "counter_id")]
impl ValueCounter {
    #[post("/value/<counter_id>/increase")]
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

#[derive(Default)]
struct ReplicatedCounterEntity;

#[replicated_entity(type_id = "replicated-counter", id = "counter_id")]
impl ReplicatedCounterEntity {
    #[post("/replicated/<counter_id>/increase")]
    fn increase(
        &self,
        counter: &ReplicatedCounter,
        #[body] by: Number,
    ) -> replicated_entity::Effect<ReplicatedCounter, String> {
        replicated_entity::Effect::update(counter.increment(by.value)).then_reply("Ok".to_owned())
    }

    #[get("/replicated/<counter_id>")]
    fn get(
        &self,
        counter: &ReplicatedCounter,
    ) -> replicated_entity::Effect<ReplicatedCounter, i64> {
        replicated_entity::Effect::reply(counter.value())
    }
}

fn value_hot(_: usize, _: u64) -> (&'static str, String, &'static str) {
    ("POST", "/value/hot/increase".to_owned(), r#"{"value":1}"#)
}

fn replicated_hot(_: usize, _: u64) -> (&'static str, String, &'static str) {
    (
        "POST",
        "/replicated/hot/increase".to_owned(),
        r#"{"value":1}"#,
    )
}

/// Half the connections to each service at once: answers per second in all, and the figures.
async fn both(
    services: [SocketAddr; 2],
    connections: usize,
    round: Duration,
    make: MakeRequest,
) -> (f64, Figures) {
    let (a, b) = tokio::join!(
        load_lenient(services[0], connections / 2, round, make),
        load_lenient(services[1], connections / 2, round, make),
    );
    let rate = a.throughput() + b.throughput();
    (rate, a.merge(b))
}

async fn read(http: &reqwest::Client, service: SocketAddr, id: &str) -> i64 {
    http.get(format!("http://{service}/replicated/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn main() {
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
    let samples: usize = env_or("BENCH_SAMPLES", 200);
    let url: String = env_or(
        "BENCH_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test".to_owned(),
    );
    let round = Duration::from_secs_f64(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let schema = format!("bench_replicated_{nanos}");
        let start = || {
            let config = kalix_core::Config::default().with_port(0).with_admin_port(0).with_store(kalix_core::StoreLocation::Postgres {
                url: url.clone(),
                schema: schema.clone(),
                timeouts: Default::default(),
            });
            kalix_core::Service::new().config(config).start()
        };
        let first = start().await.expect("the first service starts");
        let second = start().await.expect("the second service starts");
        let services = [first.local_addr(), second.local_addr()];
        // Both count each other (their leases) before the rounds.
        tokio::time::sleep(Duration::from_secs(3)).await;

        println!("one hot id across two services on one PostgreSQL, {connections} connections, 2 rounds x {seconds}s each");
        println!("{}", header());
        let warm_up = Duration::from_secs_f64((seconds / 5.0).max(0.5));
        both(services, connections, warm_up, value_hot).await;
        both(services, connections, warm_up, replicated_hot).await;
        REFUSED.store(0, Ordering::Relaxed);
        let (value_1, value_figures) = both(services, connections, round, value_hot).await;
        let value_refused = REFUSED.swap(0, Ordering::Relaxed);
        let (replicated_1, replicated_figures) = both(services, connections, round, replicated_hot).await;
        let (replicated_2, more) = both(services, connections, round, replicated_hot).await;
        let replicated_figures = replicated_figures.merge(more);
        let replicated_refused = REFUSED.swap(0, Ordering::Relaxed);
        let (value_2, more) = both(services, connections, round, value_hot).await;
        let value_figures = value_figures.merge(more);
        let value_refused = value_refused + REFUSED.swap(0, Ordering::Relaxed);
        let (value_rate, replicated_rate) = ((value_1 + value_2) / 2.0, (replicated_1 + replicated_2) / 2.0);
        let row = |name: &str, rate: f64, figures: &Figures| format!("{name:<28} {rate:>12.0} {:>10.2?} {:>10.2?}", figures.percentile(0.50), figures.percentile(0.99));
        println!("{}", row("value entity", value_rate, &value_figures));
        println!("{}", row("replicated entity", replicated_rate, &replicated_figures));
        println!("refused (503): value entity {value_refused}, replicated entity {replicated_refused}");
        println!("ratio replicated / value entity (one hot id, two services): {:.2}x", replicated_rate / value_rate);

        // Every acknowledged increment is there, on both.
        let http = reqwest::Client::new();
        let acknowledged = replicated_figures.requests as i64;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (a, b) = (read(&http, services[0], "hot").await, read(&http, services[1], "hot").await);
            if a == b && a >= acknowledged {
                println!("hot id after the rounds: {a} on both (acknowledged in timed rounds: {acknowledged}, plus the warm-up)");
                break;
            }
            assert!(Instant::now() < deadline, "not converged: {a} and {b}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        // Convergence: a write acknowledged on one, read on the other.
        let mut times = Vec::with_capacity(samples);
        for sample in 1..=samples as i64 {
            let id = "converging";
            let response = http.post(format!("http://{}/replicated/{id}/increase", services[sample as usize % 2])).json(&serde_json::json!({"value": 1})).send().await.unwrap();
            assert!(response.status().is_success());
            let acknowledged = Instant::now();
            let other = services[(sample as usize + 1) % 2];
            while read(&http, other, id).await < sample {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            times.push(acknowledged.elapsed());
        }
        times.sort_unstable();
        let percentile = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        println!("convergence ({samples} writes, read on the other service): p50 {:.2?}, p99 {:.2?}, max {:.2?}", percentile(0.5), percentile(0.99), times[times.len() - 1]);
        first.stop().await.unwrap();
        second.stop().await.unwrap();
    });
}
