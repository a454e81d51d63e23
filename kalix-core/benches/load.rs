//! The load generator both benchmarks use: keep-alive HTTP/1.1 connections, each sending
//! requests back to back until a deadline, recording every latency.

// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Throughput and latencies of one run.
pub struct Figures {
    pub requests: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Figures {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }

    /// The figures of two runs together.
    pub fn merge(mut self, other: Figures) -> Figures {
        self.requests += other.requests;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
        self
    }

    /// The figures of `workers` (each returning its latencies), started at `started`.
    pub async fn of_workers(
        workers: Vec<tokio::task::JoinHandle<Vec<Duration>>>,
        started: Instant,
    ) -> Figures {
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

    /// One table row.
    pub fn row(&self, name: &str) -> String {
        format!(
            "{:<28} {:>12.0} {:>10.2?} {:>10.2?}",
            name,
            self.throughput(),
            self.percentile(0.50),
            self.percentile(0.99)
        )
    }
}

/// The table's header.
pub fn header() -> String {
    format!(
        "{:<28} {:>12} {:>10} {:>10}",
        "server", "requests/s", "p50", "p99"
    )
}

/// A baseline and the framework under one load: a warm-up of each, then two rounds of
/// `seconds` each, alternating (baseline, framework, baseline, framework); prints both rows
/// (named `names`) and the ratio of their throughputs (framework / baseline), which it returns.
pub async fn compare(
    baseline: SocketAddr,
    framework: SocketAddr,
    connections: usize,
    seconds: f64,
    make: MakeRequest,
    names: [&str; 2],
) -> f64 {
    let round = Duration::from_secs_f64(seconds);
    let warm_up = Duration::from_secs_f64((seconds / 5.0).max(0.5));
    load(baseline, connections, warm_up, make).await;
    load(framework, connections, warm_up, make).await;
    let mut bare = load(baseline, connections, round, make).await;
    let mut ours = load(framework, connections, round, make).await;
    bare = bare.merge(load(baseline, connections, round, make).await);
    ours = ours.merge(load(framework, connections, round, make).await);
    println!("{}", bare.row(names[0]));
    println!("{}", ours.row(names[1]));
    let ratio = ours.throughput() / bare.throughput();
    println!("ratio (framework / {}): {ratio:.2}x", names[0]);
    ratio
}

/// A request: method, path and JSON body (empty for none).
pub type MakeRequest = fn(worker: usize, sequence: u64) -> (&'static str, String, &'static str);

/// How long each connection keeps sending.
#[derive(Clone, Copy)]
pub enum Budget {
    /// Until this much time has passed.
    Time(Duration),
    /// This many requests.
    Requests(u64),
}

/// Drives `address` with `connections` connections for `duration`; every answer must be a 2xx.
pub async fn load(
    address: SocketAddr,
    connections: usize,
    duration: Duration,
    make: MakeRequest,
) -> Figures {
    load_with(address, connections, Budget::Time(duration), make).await
}

/// Drives `address` with `connections` connections within `budget`; every answer must be a 2xx.
pub async fn load_with(
    address: SocketAddr,
    connections: usize,
    budget: Budget,
    make: MakeRequest,
) -> Figures {
    drive(address, connections, budget, make, false, false).await
}

/// Answers that were not a 2xx, in [`load_lenient`] runs (not counted in their figures).
pub static REFUSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// As [`load`], counting an answer that is not a 2xx in [`REFUSED`] (and not in the figures)
/// instead of failing: for a load that may be refused, such as a contended entity's.
pub async fn load_lenient(
    address: SocketAddr,
    connections: usize,
    duration: Duration,
    make: MakeRequest,
) -> Figures {
    drive(
        address,
        connections,
        Budget::Time(duration),
        make,
        false,
        true,
    )
    .await
}

/// As [`load`], every request with an `Idempotency-Key` of its own (never used before in the
/// process), so each runs and keeps its reply.
pub async fn load_keyed(
    address: SocketAddr,
    connections: usize,
    duration: Duration,
    make: MakeRequest,
) -> Figures {
    drive(
        address,
        connections,
        Budget::Time(duration),
        make,
        true,
        false,
    )
    .await
}

async fn drive(
    address: SocketAddr,
    connections: usize,
    budget: Budget,
    make: MakeRequest,
    keyed: bool,
    lenient: bool,
) -> Figures {
    static KEYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let started = Instant::now();
    let more = move |sequence: u64| match budget {
        Budget::Time(duration) => started.elapsed() < duration,
        Budget::Requests(count) => sequence < count,
    };
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
                let mut sequence = 0u64;
                while more(sequence) {
                    sequence += 1;
                    let (method, path, body) = make(worker, sequence);
                    let mut request = hyper::Request::builder()
                        .method(method)
                        .uri(path)
                        .header("host", "bench")
                        .header("content-type", "application/json");
                    if keyed {
                        let key = KEYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        request = request.header("idempotency-key", format!("bench-{key}"));
                    }
                    let request = request
                        .body(Full::new(Bytes::from_static(body.as_bytes())))
                        .unwrap();
                    let sent = Instant::now();
                    let response = sender.send_request(request).await.expect("request");
                    let status = response.status();
                    response.into_body().collect().await.expect("body");
                    if lenient && !status.is_success() {
                        REFUSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        continue;
                    }
                    assert!(status.is_success(), "{status}");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    Figures::of_workers(workers, started).await
}

/// An environment variable's value, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
