//! Workflows: two-step transfers (a withdrawal then a deposit, each a value entity command)
//! completed per second and their start-to-end latency (p50, p99), against the same two
//! commands made in sequence by an action (the baseline: what the workflow's durability costs
//! on top). On SQLite, then on PostgreSQL.
//!
//! `cargo bench -p kalix-core --bench workflow`. `BENCH_WORKFLOWS` (default 3,000) transfers
//! per round, `BENCH_CONCURRENCY` (default 32) in flight; `BENCH_POSTGRES_URL` (default the
//! local `test` database) for the PostgreSQL round, skipped when it does not answer.

#[path = "load.rs"]
mod load;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kalix_core::prelude::*;
use kalix_core::workflow::Effect;
use kalix_core::{RunningService, StoreLocation};
use load::{Figures, env_or};
use tokio::sync::oneshot;

/// Transfers waiting for their end, by number.
static WAITING: Mutex<Option<HashMap<u64, oneshot::Sender<()>>>> = Mutex::new(None);
static ROUND: AtomicU64 = AtomicU64::new(0);

fn account(n: u64) -> String {
    format!("account-{}", n % 100)
}

#[derive(Default)]
struct Account;

#[value_entity(type_id = "bench-account", id = "id")]
impl Account {
    #[post("/account/<id>/add/<amount>")]
    fn add(&self, balance: &i64, amount: i64) -> value_entity::Effect<i64, i64> {
        value_entity::Effect::update_state(balance + amount).then_reply(balance + amount)
    }
}

#[derive(Default)]
struct BenchTransfer;

#[workflow(type_id = "bench-transfer", id = "id")]
impl BenchTransfer {
    #[put("/bench-transfer/<id>/<n>")]
    fn start(&self, state: Option<&u64>, n: u64) -> Effect<Self, u64, String> {
        if state.is_some() {
            return Effect::error("started already");
        }
        Effect::update_state(n)
            .transition_to(Self::WITHDRAW, n)
            .then_reply("started".to_owned())
    }

    #[step]
    async fn withdraw(&self, n: u64, ctx: &StepContext) -> StepResult<Self, u64> {
        let accounts = ctx.component_client();
        accounts.value_entity::<Account>(account(n)).add(-1).await?;
        Ok(Transition::transition_to(Self::DEPOSIT, n))
    }

    #[step]
    async fn deposit(&self, n: u64, ctx: &StepContext) -> StepResult<Self, u64> {
        let accounts = ctx.component_client();
        accounts
            .value_entity::<Account>(account(n + 1))
            .add(1)
            .await?;
        Ok(Transition::end())
    }
}

#[derive(Default)]
struct Direct;

#[action]
impl Direct {
    #[post("/direct/<n>")]
    async fn transfer(&self, n: u64, ctx: &ActionContext) -> action::Effect<()> {
        let accounts = ctx.component_client();
        if let Err(error) = accounts.value_entity::<Account>(account(n)).add(-1).await {
            return action::Effect::failed(error);
        }
        if let Err(error) = accounts
            .value_entity::<Account>(account(n + 1))
            .add(1)
            .await
        {
            return action::Effect::failed(error);
        }
        action::Effect::reply(())
    }
}

/// Runs `count` transfers with `concurrency` in flight, each through `run`; their latencies.
async fn round<F, Fut>(count: u64, concurrency: u64, run: F) -> Figures
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = std::sync::Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, run) = (std::sync::Arc::clone(&next), run.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return latencies;
                    }
                    let began = Instant::now();
                    run(n).await;
                    latencies.push(began.elapsed());
                }
            })
        })
        .collect();
    Figures::of_workers(tasks, started).await
}

/// Starts transfer `n` and waits for its end (its record committed as ended).
async fn workflow_transfer(client: ComponentClient, n: u64) {
    let (ended, wait) = oneshot::channel();
    let round = ROUND.load(Ordering::Relaxed);
    let key = round * 10_000_000 + n;
    WAITING
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(key, ended);
    client
        .workflow::<BenchTransfer>(format!("r{round}-t{n}"))
        .start(n)
        .await
        .expect("the transfer starts");
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("the transfer ends within 60 s")
        .expect("the observer saw it");
}

/// The service, with an observer that wakes each transfer's waiter when its record ends.
async fn service(store: StoreLocation) -> Result<RunningService, kalix_core::StartError> {
    let config = kalix_core::Config::default()
        .with_port(0)
        .with_admin_port(0)
        .with_store(store);
    let observer: kalix_core::workflow::WorkflowObserver =
        std::sync::Arc::new(|type_id, id, json| {
            if type_id != "bench-transfer" || !json.windows(7).any(|w| w == b"\"ended\"") {
                return;
            }
            let Some((round, n)) = id.strip_prefix('r').and_then(|rest| rest.split_once("-t"))
            else {
                return;
            };
            let key = round.parse::<u64>().unwrap() * 10_000_000 + n.parse::<u64>().unwrap();
            if let Some(waiter) = WAITING
                .lock()
                .unwrap()
                .get_or_insert_with(HashMap::new)
                .remove(&key)
            {
                let _ = waiter.send(());
            }
        });
    kalix_core::Service::new()
        .config(config)
        .observe_workflows(observer)
        .start()
        .await
}

async fn compare(label: &str, service: &RunningService, count: u64, concurrency: u64) {
    let client = service.component_client();
    let direct = {
        let client = client.clone();
        round(count, concurrency, move |n| {
            let client = client.clone();
            async move {
                client
                    .action::<Direct>()
                    .transfer(n)
                    .await
                    .expect("a direct transfer")
            }
        })
        .await
    };
    ROUND.fetch_add(1, Ordering::Relaxed);
    let workflow = {
        let client = client.clone();
        round(count, concurrency, move |n| {
            workflow_transfer(client.clone(), n)
        })
        .await
    };
    println!("{label}: {count} transfers, {concurrency} in flight");
    println!("{}", load::header());
    println!("{}", direct.row("two commands from an action"));
    println!("{}", workflow.row("two-step workflow"));
    println!(
        "workflow / action: {:.2}x the throughput, p50 {:.1}x, p99 {:.1}x",
        workflow.throughput() / direct.throughput(),
        workflow.percentile(0.5).as_secs_f64() / direct.percentile(0.5).as_secs_f64(),
        workflow.percentile(0.99).as_secs_f64() / direct.percentile(0.99).as_secs_f64(),
    );
}

fn main() {
    let count: u64 = env_or("BENCH_WORKFLOWS", 3_000);
    let concurrency: u64 = env_or("BENCH_CONCURRENCY", 32);
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
        let sqlite = service(StoreLocation::Sqlite(directory.path().join("workflows.db")))
            .await
            .expect("the service starts");
        compare("SQLite", &sqlite, count, concurrency).await;
        sqlite.stop().await.expect("stops");

        ROUND.fetch_add(1, Ordering::Relaxed);
        let location = StoreLocation::Postgres {
            url: postgres.clone(),
            schema: format!("bench_workflows_{}", std::process::id()),
            timeouts: kalix_core::store::PostgresTimeouts::default(),
        };
        let Ok(Ok(postgres_service)) =
            tokio::time::timeout(Duration::from_secs(5), service(location)).await
        else {
            println!("PostgreSQL at {postgres} does not answer: its round is skipped");
            return;
        };
        compare("PostgreSQL", &postgres_service, count, concurrency).await;
        postgres_service.stop().await.expect("stops");
    });
}
