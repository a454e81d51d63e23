//! HTTP ingress overhead: the same GET handler served through the framework and as a bare axum
//! handler, driven by the same load, in one run.
//!
//! `cargo bench -p kalix-core --bench http_ingress` prints requests/s, p50 and p99 for each and
//! the ratio framework / axum. Load: `BENCH_CONNECTIONS` keep-alive HTTP/1.1 connections
//! (default 64), each sending requests back to back for `BENCH_SECONDS` (default 5) per round;
//! two alternating rounds per target after a warm-up, all on one multi-threaded runtime, so the
//! load generator shares the machine with the server exactly as much in both cases.

#[path = "load.rs"]
mod load;

use std::time::Duration;

use axum::Json;
use axum::extract::Path;
use axum::routing::get;
use kalix_core::prelude::*;
use load::{env_or, header, load};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Number {
    value: u64,
}

fn next_fibonacci(number: u64) -> u64 {
    let (mut previous, mut current) = (0u64, 1u64);
    while current <= number {
        let next = previous.saturating_add(current);
        previous = current;
        current = next;
    }
    current
}

#[derive(Default)]
struct BenchAction;

#[action]
impl BenchAction {
    #[get("/fibonacci/<number>/next")]
    async fn next(&self, number: u64) -> action::Effect<Number> {
        action::Effect::reply(Number {
            value: next_fibonacci(number),
        })
    }
}

async fn bare_axum(Path(number): Path<u64>) -> Json<Number> {
    Json(Number {
        value: next_fibonacci(number),
    })
}

fn get_next(worker: usize, sequence: u64) -> (&'static str, String, &'static str) {
    let n = (worker as u64 + sequence) % 1000;
    ("GET", format!("/fibonacci/{n}/next"), "")
}

fn main() {
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
    let round = Duration::from_secs_f64(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let framework = kalix_core::Service::new()
            .config(kalix_core::Config::default().with_port(0))
            .start()
            .await
            .expect("framework starts");
        let framework_address = framework.local_addr();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let axum_address = listener.local_addr().unwrap();
        let router = axum::Router::new().route("/fibonacci/{number}/next", get(bare_axum));
        tokio::spawn(async move { axum::serve(listener, router).await });

        let warm_up = Duration::from_secs_f64((seconds / 5.0).max(0.5));
        load(axum_address, connections, warm_up, get_next).await;
        load(framework_address, connections, warm_up, get_next).await;

        let mut axum_figures = load(axum_address, connections, round, get_next).await;
        let mut framework_figures = load(framework_address, connections, round, get_next).await;
        axum_figures = axum_figures.merge(load(axum_address, connections, round, get_next).await);
        framework_figures = framework_figures.merge(load(framework_address, connections, round, get_next).await);

        println!(
            "GET /fibonacci/<n>/next, {connections} connections, 2 rounds x {seconds}s each, {} worker threads",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!("{}", header());
        println!("{}", axum_figures.row("bare axum"));
        println!("{}", framework_figures.row("kalix-core"));
        println!(
            "ratio kalix-core / bare axum (requests/s): {:.3}",
            framework_figures.throughput() / axum_figures.throughput()
        );
        framework.stop().await.unwrap();
    });
}
