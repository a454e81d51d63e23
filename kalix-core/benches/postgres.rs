//! Durable value-entity increments on PostgreSQL through the framework, beside a bare axum
//! handler doing one upsert per request (same pool size), in the same run.
//!
//! `cargo bench -p kalix-core --bench postgres`. Needs PostgreSQL: `BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each run uses fresh schemas. Two cases: 1000
//! random ids, and one hot id that every request increments. `BENCH_CONNECTIONS` connections
//! (default 64), `BENCH_SECONDS` (default 5) per round, two alternating rounds each. Then the
//! cost of idempotency keys: the same increments with a new key each and without, alternating.

#[path = "load.rs"]
mod load;

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::post;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use kalix_core::prelude::*;
use load::{MakeRequest, env_or, header, load, load_keyed};
use serde::{Deserialize, Serialize};

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

async fn baseline_increase(
    State(pool): State<Pool>,
    Path(id): Path<String>,
    Json(by): Json<Number>,
) -> Json<Number> {
    let client = pool.get().await.unwrap();
    let statement = client
        .prepare_cached(
            "INSERT INTO bench_baseline.counters (id, value) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET value = counters.value + excluded.value RETURNING value",
        )
        .await
        .unwrap();
    let row = client
        .query_one(&statement, &[&id, &by.value])
        .await
        .unwrap();
    Json(Number { value: row.get(0) })
}

fn random_id(worker: usize, sequence: u64) -> (&'static str, String, &'static str) {
    let id = (sequence
        .wrapping_mul(2_654_435_761)
        .wrapping_add(worker as u64 * 97))
        % 1000;
    ("POST", format!("/counter/c{id}/increase"), r#"{"value":1}"#)
}

fn one_id(_worker: usize, _sequence: u64) -> (&'static str, String, &'static str) {
    ("POST", "/counter/hot/increase".to_owned(), r#"{"value":1}"#)
}

fn main() {
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
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
        let config = kalix_core::Config::default().with_port(0).with_admin_port(0).with_store(kalix_core::StoreLocation::Postgres {
            url: url.clone(),
            schema: format!("bench_{nanos}"),
            timeouts: Default::default(),
        });
        let framework = kalix_core::Service::new().config(config).start().await.expect("framework starts");

        let manager = Manager::from_config(url.parse().unwrap(), tokio_postgres::NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(16).build().unwrap();
        pool.get()
            .await
            .unwrap()
            .batch_execute(
                "CREATE SCHEMA IF NOT EXISTS bench_baseline;
                 DROP TABLE IF EXISTS bench_baseline.counters;
                 CREATE TABLE bench_baseline.counters (id TEXT PRIMARY KEY, value BIGINT NOT NULL);",
            )
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let baseline_address = listener.local_addr().unwrap();
        let router = axum::Router::new().route("/counter/{id}/increase", post(baseline_increase)).with_state(pool);
        tokio::spawn(async move { axum::serve(listener, router).await });

        let cases: [(&str, MakeRequest); 2] = [("1000 random ids", random_id), ("one hot id", one_id)];
        for (case, request) in cases {
            println!("durable increments on PostgreSQL, {case}, {connections} connections, 2 rounds x {seconds}s");
            println!("{}", header());
            let warm_up = Duration::from_secs_f64((seconds / 5.0).max(0.5));
            load(baseline_address, connections, warm_up, request).await;
            load(framework.local_addr(), connections, warm_up, request).await;
            let mut baseline = load(baseline_address, connections, round, request).await;
            let mut framework_figures = load(framework.local_addr(), connections, round, request).await;
            baseline = baseline.merge(load(baseline_address, connections, round, request).await);
            framework_figures = framework_figures.merge(load(framework.local_addr(), connections, round, request).await);
            println!("{}", baseline.row("axum + one upsert/request"));
            println!("{}", framework_figures.row("kalix-core on postgres"));
            println!("ratio kalix-core / baseline ({case}): {:.3}", framework_figures.throughput() / baseline.throughput());
        }
        println!("idempotency keys on PostgreSQL, same service, rounds with/without/without/with:");
        println!("{}", header());
        for (case, request) in cases {
            let mut keyed = load_keyed(framework.local_addr(), connections, round, request).await;
            let mut plain = load(framework.local_addr(), connections, round, request).await;
            plain = plain.merge(load(framework.local_addr(), connections, round, request).await);
            keyed = keyed.merge(load_keyed(framework.local_addr(), connections, round, request).await);
            println!("{}", keyed.row(&format!("with a key, {case}")));
            println!("{}", plain.row(&format!("without, {case}")));
            println!("ratio with a key / without ({case}): {:.3}", keyed.throughput() / plain.throughput());
        }
        framework.stop().await.unwrap();
    });
}
