//! Ingress overhead: the same GET handler served through the framework and as a bare axum
//! handler, and the same unary gRPC method through the framework and a bare tonic server, each
//! pair driven by the same load, in one run.
//!
//! `cargo bench -p kalix-core --bench http_ingress` prints requests/s, p50 and p99 for each and
//! the ratio framework / axum. Load: `BENCH_CONNECTIONS` keep-alive HTTP/1.1 connections
//! (default 64), each sending requests back to back for `BENCH_SECONDS` (default 5) per round;
//! two alternating rounds per target after a warm-up, all on one multi-threaded runtime, so the
//! load generator shares the machine with the server exactly as much in both cases.
//!
//! `BENCH_CLIENT=process` sends the load from a child process instead (this binary again, run
//! with `--load-only <address> <connections> <seconds>`), as an outside client such as wrk
//! does: the servers then have this process's threads to themselves, and the client competes
//! with them for the cores as another program would.

#[path = "support/grpc.rs"]
mod grpc;
#[path = "load.rs"]
mod load;
#[path = "support/recording.rs"]
mod recording;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::Path;
use axum::routing::get;
use kalix_core::prelude::*;
use load::{Figures, env_or, header, load};
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

    #[grpc(grpc::Fibonacci::Next)]
    async fn next_grpc(&self, number: grpc::Number) -> action::Effect<grpc::Number> {
        action::Effect::reply(grpc::Number {
            value: next_fibonacci(number.value as u64) as i64,
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

/// The child's side of `BENCH_CLIENT=process`: sends the load and prints its figures (the
/// request count and elapsed nanoseconds, then one latency in nanoseconds a line). `false` when
/// this run is not a child.
fn load_only() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let Some(at) = args.iter().position(|arg| arg == "--load-only") else {
        return false;
    };
    let address: SocketAddr = args[at + 1].parse().expect("an address");
    let connections: usize = args[at + 2].parse().expect("a number of connections");
    let round = Duration::from_secs_f64(args[at + 3].parse().expect("seconds"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let figures = runtime.block_on(load(address, connections, round, get_next));
    let mut out = format!("{} {}\n", figures.requests, figures.elapsed.as_nanos());
    for latency in &figures.latencies {
        out.push_str(&latency.as_nanos().to_string());
        out.push('\n');
    }
    print!("{out}");
    true
}

/// One round of load on `address`: from this process, or from a child process.
async fn measure(
    from_child: bool,
    address: SocketAddr,
    connections: usize,
    round: Duration,
) -> Figures {
    if !from_child {
        return load(address, connections, round, get_next).await;
    }
    let exe = std::env::current_exe().expect("this binary's path");
    let args = [
        "--load-only".to_owned(),
        address.to_string(),
        connections.to_string(),
        round.as_secs_f64().to_string(),
    ];
    let output =
        tokio::task::spawn_blocking(move || std::process::Command::new(exe).args(args).output())
            .await
            .unwrap()
            .expect("the load process runs");
    assert!(
        output.status.success(),
        "the load process failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("the load process prints figures");
    let mut lines = text.lines();
    let mut first = lines.next().expect("a first line").split(' ');
    let requests: usize = first.next().unwrap().parse().unwrap();
    let elapsed = Duration::from_nanos(first.next().unwrap().parse().unwrap());
    let mut latencies: Vec<Duration> = lines
        .map(|line| Duration::from_nanos(line.parse().unwrap()))
        .collect();
    latencies.sort_unstable();
    Figures {
        requests,
        elapsed,
        latencies,
    }
}

fn main() {
    if load_only() {
        return;
    }
    let from_child = std::env::var("BENCH_CLIENT").is_ok_and(|client| client == "process");
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
    // `BENCH_ONLY=grpc`: the gRPC pair alone (to profile it); `BENCH_ONLY=http`: the HTTP pair.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let grpc_only = only == "grpc";
    let round = Duration::from_secs_f64(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        recording::install();
        let framework = kalix_core::Service::new()
            .config(kalix_core::Config::default().with_port(0).with_admin_port(0))
            .start()
            .await
            .expect("framework starts");
        let framework_address = framework.local_addr();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let axum_address = listener.local_addr().unwrap();
        let router = axum::Router::new().route("/fibonacci/{number}/next", get(bare_axum));
        tokio::spawn(async move { axum::serve(listener, router).await });

        let warm_up = Duration::from_secs_f64((seconds / 5.0).max(0.5));
        if !grpc_only {
        measure(from_child, axum_address, connections, warm_up).await;
        measure(from_child, framework_address, connections, warm_up).await;

        // This process's CPU over each target's rounds: with the client in a child process, the
        // server's alone, a steadier figure than throughput on a machine that drifts.
        let measured = |address| async move {
            let before = recording::process_cpu();
            let figures = measure(from_child, address, connections, round).await;
            (figures, recording::process_cpu().saturating_sub(before))
        };
        let (mut axum_figures, mut axum_cpu) = measured(axum_address).await;
        let (mut framework_figures, mut framework_cpu) = measured(framework_address).await;
        let (figures, cpu) = measured(axum_address).await;
        (axum_figures, axum_cpu) = (axum_figures.merge(figures), axum_cpu + cpu);
        let (figures, cpu) = measured(framework_address).await;
        (framework_figures, framework_cpu) = (framework_figures.merge(figures), framework_cpu + cpu);
        let per_request = |cpu: Duration, figures: &Figures| cpu / figures.requests.max(1) as u32;

        println!(
            "GET /fibonacci/<n>/next, {connections} connections, 2 rounds x {seconds}s each, {} worker threads, client {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            if from_child { "in a child process" } else { "in this process" }
        );
        println!("{}", header());
        println!("{}", axum_figures.row("bare axum"));
        println!("{}", framework_figures.row("kalix-core"));
        println!(
            "ratio kalix-core / bare axum (requests/s): {:.3}",
            framework_figures.throughput() / axum_figures.throughput()
        );
        println!(
            "CPU per request of this process{}: bare axum {:?}, kalix-core {:?}",
            if from_child { " (the server's alone)" } else { " (server and client)" },
            per_request(axum_cpu, &axum_figures),
            per_request(framework_cpu, &framework_figures),
        );
        if only == "http" {
            framework.stop().await.unwrap();
            return;
        }
        }

        // The same unary method over gRPC: the framework beside a bare tonic server, tonic
        // clients in this process (one call in flight per HTTP/2 connection).
        let tonic_address = grpc::start_bare().await;
        grpc::load(tonic_address, connections, warm_up).await;
        grpc::load(framework_address, connections, warm_up).await;
        // This machine's throughput drifts between rounds by more than the difference measured,
        // so rounds alternate in pairs (in turn the first of its pair) and each pair gives a
        // ratio: their median is the figure.
        let pairs: usize = env_or("BENCH_PAIRS", 4);
        let mut ratios = Vec::with_capacity(pairs);
        let mut tonic_figures: Option<load::Figures> = None;
        let mut grpc_figures: Option<load::Figures> = None;
        for pair in 0..pairs {
            let (tonic, framework) = if pair % 2 == 0 {
                let tonic = grpc::load(tonic_address, connections, round).await;
                (tonic, grpc::load(framework_address, connections, round).await)
            } else {
                let framework = grpc::load(framework_address, connections, round).await;
                (grpc::load(tonic_address, connections, round).await, framework)
            };
            ratios.push(framework.throughput() / tonic.throughput());
            tonic_figures = Some(match tonic_figures {
                Some(figures) => figures.merge(tonic),
                None => tonic,
            });
            grpc_figures = Some(match grpc_figures {
                Some(figures) => figures.merge(framework),
                None => framework,
            });
        }
        let (tonic_figures, grpc_figures) = (tonic_figures.unwrap(), grpc_figures.unwrap());
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        let median = (sorted[(pairs - 1) / 2] + sorted[pairs / 2]) / 2.0;
        println!();
        println!("gRPC unary bench.Fibonacci/Next, {connections} HTTP/2 connections, {pairs} pairs of {seconds}s rounds, client in this process");
        println!("{}", header());
        println!("{}", tonic_figures.row("bare tonic"));
        println!("{}", grpc_figures.row("kalix-core gRPC"));
        let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
        println!(
            "ratio kalix-core / bare tonic (requests/s): median of pairs {median:.3} (pairs: {}; all rounds together: {:.3})",
            listed.join(", "),
            grpc_figures.throughput() / tonic_figures.throughput()
        );
        println!();

        if grpc_only {
            framework.stop().await.unwrap();
            return;
        }
        // What recording metrics costs: the recorder switched on and off, rounds on-off-off-on.
        let (on, off) = recording::on_and_off(|| {
            measure(from_child, framework_address, connections, round)
        })
        .await;
        println!("{}", on.figures.row("kalix-core, recording on"));
        println!("{}", off.figures.row("kalix-core, recording off"));
        println!(
            "ratio recording on / off: {:.3} requests/s; CPU per request {:?} on, {:?} off{}",
            on.figures.throughput() / off.figures.throughput(),
            on.cpu_per_request,
            off.cpu_per_request,
            if from_child { " (server only: the client is another process)" } else { "" }
        );
        println!(
            "requests recorded: {}; the recording of one request timed alone: {:?}",
            recording::recorded("http_server_request_duration_seconds_count"),
            recording::recording_per_request()
        );
        framework.stop().await.unwrap();
    });
}
