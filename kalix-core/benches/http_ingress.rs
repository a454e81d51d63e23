//! HTTP ingress overhead: the same GET handler served through the framework and as a bare axum
//! handler, driven by the same load, in one run.
//!
//! `cargo bench -p kalix-core --bench http_ingress` prints requests/s, p50 and p99 for each and
//! the ratio framework / axum. Load: `BENCH_CONNECTIONS` keep-alive HTTP/1.1 connections
//! (default 64), each sending requests back to back for `BENCH_SECONDS` (default 5) per round;
//! two alternating rounds per target after a warm-up, all on one multi-threaded runtime, so the
//! load generator shares the machine with the server exactly as much in both cases.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::Path;
use axum::routing::get;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

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

struct Figures {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Figures {
    fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }

    fn merge(mut self, other: Figures) -> Figures {
        self.requests += other.requests;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self
    }
}

/// Drives `address` with `connections` keep-alive connections for `duration`.
async fn load(address: SocketAddr, connections: usize, duration: Duration) -> Figures {
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..connections)
        .map(|worker| {
            tokio::spawn(async move {
                let stream = TcpStream::connect(address).await.expect("connect");
                stream.set_nodelay(true).unwrap();
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .expect("handshake");
                tokio::spawn(connection);
                let mut latencies = Vec::with_capacity(100_000);
                let mut n = worker as u64;
                while Instant::now() < deadline {
                    n = (n + 1) % 1000;
                    let request = hyper::Request::get(format!("/fibonacci/{n}/next"))
                        .header("host", "bench")
                        .body(Empty::<Bytes>::new())
                        .unwrap();
                    let sent = Instant::now();
                    let response = sender.send_request(request).await.expect("request");
                    assert!(response.status().is_success(), "{}", response.status());
                    response.into_body().collect().await.expect("body");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Figures {
        requests: latencies.len(),
        elapsed,
        latencies,
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
        load(axum_address, connections, warm_up).await;
        load(framework_address, connections, warm_up).await;

        let mut axum_figures = load(axum_address, connections, round).await;
        let mut framework_figures = load(framework_address, connections, round).await;
        axum_figures = axum_figures.merge(load(axum_address, connections, round).await);
        framework_figures = framework_figures.merge(load(framework_address, connections, round).await);
        axum_figures.latencies.sort_unstable();
        framework_figures.latencies.sort_unstable();

        println!(
            "GET /fibonacci/<n>/next, {connections} connections, 2 rounds x {seconds}s each, {} worker threads",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!("{:<12} {:>12} {:>10} {:>10}", "server", "requests/s", "p50", "p99");
        for (name, figures) in [("bare axum", &axum_figures), ("kalix-core", &framework_figures)] {
            println!(
                "{:<12} {:>12.0} {:>10.2?} {:>10.2?}",
                name,
                figures.throughput(),
                figures.percentile(0.50),
                figures.percentile(0.99)
            );
        }
        println!(
            "ratio kalix-core / bare axum (requests/s): {:.3}",
            framework_figures.throughput() / axum_figures.throughput()
        );
        framework.stop().await.unwrap();
    });
}
