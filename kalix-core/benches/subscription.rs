//! Subscriptions: the lag from an event's commit to its subscription handler at a steady write
//! rate, and how fast the feed delivers when writes come as fast as they can.
//!
//! `cargo bench -p kalix-core --bench subscription`. An event-sourced counter on an SQLite file
//! (WAL, `synchronous=FULL`) emits one event per command; an action subscribed to its events
//! notes when each arrives. Commands go through the in-process component client to 1000 ids.
//!
//! - Steady: `BENCH_RATE` commands per second (default 10,000) for `BENCH_SECONDS` (default 5).
//!   The lag of an event is from the moment its command's reply arrived (the commit is
//!   acknowledged just before) to the moment the handler starts on it; p50, p99 and max.
//! - Burst: `BENCH_BURST` commands (default 100,000) from 64 tasks as fast as they are answered:
//!   the write rate, and the delivery rate from the first write to the last delivery. The
//!   baseline of the same run is the write rate: delivery keeps up if it is at least that.
//! - Fan-out (issue 23's case): an event-sourced entity whose journal feeds five subscribers,
//!   three of them publishing each event to an embedded topic, beside one with none, in the
//!   same service: `BENCH_FANOUT` commands (default 30,000) from 64 tasks to each, the write
//!   rates and their ratio (goal: at least 0.7); then the fanned entity at 0.7x the quiet one's
//!   rate for `BENCH_SECONDS`, and the lag from reply to each subscriber's handler, p50 and p99
//!   over all five (goal: p99 at most 50 ms).
//! - NATS (when `BENCH_NATS_URL`, default `nats://127.0.0.1:4222`, answers): messages published
//!   per second through the service's broker (`Topics::publish`: a CloudEvent, acknowledged by
//!   JetStream) beside a bare `async-nats` JetStream publisher of the same bodies and headers,
//!   `BENCH_MESSAGES` (default 20,000) each from 64 tasks, alternating twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// An event-sourced counter: each command emits one event (an event type belongs to one
/// entity type, so each counter has its own).
macro_rules! counter {
    ($entity:ident, $event:ident, $type_id:literal, $route:literal) => {
        #[derive(Clone, Debug, Serialize, Deserialize)]
        enum $event {
            Increased,
        }

        #[derive(Default)]
        struct $entity;

        #[event_sourced_entity(type_id = $type_id, id = "id")]
        impl $entity {
            #[post($route)]
            fn increase(&self, _count: &u64) -> event_sourced_entity::Effect<u64, $event, u64> {
                event_sourced_entity::Effect::emit_event($event::Increased)
                    .then_reply(|count| *count)
            }

            #[event_handler]
            fn apply(&self, count: u64, _event: &$event) -> u64 {
                count + 1
            }
        }
    };
}

counter!(Counter, Counted, "bench-counter", "/counter/<id>/increase");

/// When each (counter, sequence number) reached the handler.
fn arrivals() -> &'static Mutex<HashMap<(String, u64), Instant>> {
    static ARRIVALS: OnceLock<Mutex<HashMap<(String, u64), Instant>>> = OnceLock::new();
    ARRIVALS.get_or_init(Mutex::default)
}

#[derive(Default)]
struct Watcher;

#[action]
impl Watcher {
    #[subscribe(event_sourced_entity = Counter)]
    async fn on_event(&self, _event: Counted, ctx: &ActionContext) -> action::Effect<()> {
        let now = Instant::now();
        if let (Some(id), Some(seq)) = (ctx.event_subject(), ctx.event_sequence()) {
            arrivals().lock().unwrap().insert((id.to_owned(), seq), now);
        }
        action::Effect::reply(())
    }
}

// The fan-out case: an entity nothing subscribes to, and one with five subscribers.
counter!(Quiet, QuietEvent, "bench-quiet", "/quiet/<id>/increase");
counter!(Fanned, FannedEvent, "bench-fanned", "/fanned/<id>/increase");

/// When each subscriber (by number) got each (counter number, sequence number) of `Fanned`, in
/// the order they arrived: a push under the subscriber's own lock, so noting a delivery costs the
/// handler far less than the delivery costs the framework (a shared map with string keys cost
/// the fanned service a tenth of its CPU). Matched with the acknowledgements after the run.
static FANNED_ARRIVALS: [Mutex<Vec<(u16, u64, Instant)>>; FANNED_SUBSCRIBERS as usize] =
    [const { Mutex::new(Vec::new()) }; FANNED_SUBSCRIBERS as usize];

/// How many deliveries to `Fanned`'s subscribers were noted: the wait for all of them reads
/// this, not the lists, so waiting costs the service nothing.
static FANNED_NOTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The number of counter `id` (`c<n>`).
fn counter_number(id: &str) -> u16 {
    id[1..].parse().expect("counters are c<n>")
}

fn note_fanned(subscriber: u8, ctx: &ActionContext) {
    let now = Instant::now();
    if let (Some(id), Some(seq)) = (ctx.event_subject(), ctx.event_sequence()) {
        FANNED_ARRIVALS[usize::from(subscriber)]
            .lock()
            .unwrap()
            .push((counter_number(id), seq, now));
        FANNED_NOTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

macro_rules! fanned_subscriber {
    ($name:ident, $number:literal) => {
        #[derive(Default)]
        struct $name;

        #[action]
        impl $name {
            #[subscribe(event_sourced_entity = Fanned)]
            async fn on_event(
                &self,
                _event: FannedEvent,
                ctx: &ActionContext,
            ) -> action::Effect<()> {
                note_fanned($number, ctx);
                action::Effect::reply(())
            }
        }
    };
    ($name:ident, $number:literal, $topic:literal) => {
        #[derive(Default)]
        struct $name;

        #[action]
        impl $name {
            #[subscribe(event_sourced_entity = Fanned)]
            #[publish(topic = $topic)]
            async fn on_event(
                &self,
                event: FannedEvent,
                ctx: &ActionContext,
            ) -> action::Effect<FannedEvent> {
                note_fanned($number, ctx);
                action::Effect::reply(event)
            }
        }
    };
}

fanned_subscriber!(FanPublisherA, 0, "bench-fan-a");
fanned_subscriber!(FanPublisherB, 1, "bench-fan-b");
fanned_subscriber!(FanPublisherC, 2, "bench-fan-c");
fanned_subscriber!(FanWatcherD, 3);
fanned_subscriber!(FanWatcherE, 4);

/// The number of `Fanned`'s subscribers.
const FANNED_SUBSCRIBERS: u8 = 5;

/// Which counter the commands go to.
#[derive(Clone, Copy)]
enum Target {
    /// The counter one action subscribes to.
    Counter,
    /// The counter nothing subscribes to.
    Quiet,
    /// The counter with five subscribers.
    Fanned,
}

/// One command to counter `n % 1000` of `target`, noted in `acks` once answered.
async fn command(client: &ComponentClient, target: Target, n: u64, acks: &Acks) {
    let id = format!("c{}", n % 1000);
    let seq = match target {
        Target::Counter => {
            let counter = client.event_sourced_entity::<Counter>(id.clone());
            counter.increase().await
        }
        Target::Quiet => {
            let counter = client.event_sourced_entity::<Quiet>(id.clone());
            counter.increase().await
        }
        Target::Fanned => {
            let counter = client.event_sourced_entity::<Fanned>(id.clone());
            counter.increase().await
        }
    }
    .expect("the command succeeds");
    acks.lock().unwrap().push(((id, seq), Instant::now()));
}

/// `rate` commands per second to `target` for `seconds` (a tick every millisecond starts
/// rate/1000), numbered from `first`; the acknowledged commands and the rate they were written.
async fn steady(
    client: &ComponentClient,
    target: Target,
    rate: u64,
    seconds: f64,
    first: u64,
) -> (Acks, f64) {
    let acks: Acks = Arc::default();
    let per_tick = (rate / 1000).max(1);
    let ticks = (seconds * 1000.0) as u64;
    let mut interval = tokio::time::interval(Duration::from_millis(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for tick in 0..ticks {
        interval.tick().await;
        for k in 0..per_tick {
            let (client, acks) = (client.clone(), Arc::clone(&acks));
            let n = first + tick * per_tick + k;
            tasks.push(tokio::spawn(async move {
                command(&client, target, n, &acks).await
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let written = acks.lock().unwrap().len();
    (acks, written as f64 / started.elapsed().as_secs_f64())
}

/// `count` commands to `target` from 64 tasks as fast as they are answered; the acknowledged
/// commands, when the first was sent, and the rate they were written.
async fn burst(client: &ComponentClient, target: Target, count: u64) -> (Acks, Instant, f64) {
    let acks: Acks = Arc::default();
    let started = Instant::now();
    let workers: Vec<_> = (0..64u64)
        .map(|worker| {
            let (client, acks) = (client.clone(), Arc::clone(&acks));
            tokio::spawn(async move {
                let mut n = worker;
                while n < count {
                    command(&client, target, n, &acks).await;
                    n += 64;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    (acks, started, rate)
}

/// The lags from each acknowledgement to each subscriber's handler, once all arrived (or 60 s
/// passed), sorted. `FANNED_NOTED` was zero when the acknowledged commands were sent.
async fn fanned_lags(acks: &[((String, u64), Instant)]) -> Vec<Duration> {
    let expected = acks.len() * usize::from(FANNED_SUBSCRIBERS);
    let deadline = Instant::now() + Duration::from_secs(60);
    while FANNED_NOTED.load(std::sync::atomic::Ordering::Relaxed) < expected
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first arrival of each delivery (a retried one may arrive twice).
    let mut arrivals = HashMap::new();
    for (subscriber, noted) in FANNED_ARRIVALS.iter().enumerate() {
        for &(counter, seq, at) in noted.lock().unwrap().iter() {
            arrivals
                .entry((subscriber as u8, counter, seq))
                .or_insert(at);
        }
    }
    let mut lags = Vec::with_capacity(expected);
    let mut missing = 0;
    for ((id, seq), acked) in acks {
        for subscriber in 0..FANNED_SUBSCRIBERS {
            match arrivals.get(&(subscriber, counter_number(id), *seq)) {
                Some(at) => lags.push(at.saturating_duration_since(*acked)),
                None => missing += 1,
            }
        }
    }
    if missing > 0 {
        println!("  {missing} deliveries missing after 60 s");
    }
    lags.sort();
    lags
}

/// Forgets the deliveries noted so far.
fn clear_fanned() {
    for noted in &FANNED_ARRIVALS {
        noted.lock().unwrap().clear();
    }
    FANNED_NOTED.store(0, std::sync::atomic::Ordering::Relaxed);
}

/// The fan-out case (see the module's documentation).
async fn fan_out(client: &ComponentClient, count: u64, seconds: f64) {
    let pairs: usize = env_or("BENCH_FANOUT_PAIRS", 3);
    println!(
        "fan-out: five subscribers (three publishing to embedded topics) beside none, {count} commands each, 64 tasks, 1000 ids, {pairs} pairs"
    );
    // The machine's speed drifts between rounds by more than a round's noise, so the two run in
    // pairs, each fanned round right after its quiet one (and the next pair only once every
    // delivery arrived), and the figure is the median of the pairs' ratios.
    let mut ratios = Vec::with_capacity(pairs);
    let mut quiet_rates = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let (_, _, quiet) = burst(client, Target::Quiet, count).await;
        let (acks, _, fanned) = burst(client, Target::Fanned, count).await;
        let acks = acks.lock().unwrap().clone();
        let lags = fanned_lags(&acks).await;
        clear_fanned();
        println!(
            "  no subscribers: {quiet:.0} events/s; five subscribers: {fanned:.0} events/s ({:.2}x), lag to each handler p50 {:.1} ms, p99 {:.1} ms",
            fanned / quiet,
            percentile(&lags, 0.50).as_secs_f64() * 1000.0,
            percentile(&lags, 0.99).as_secs_f64() * 1000.0,
        );
        ratios.push(fanned / quiet);
        quiet_rates.push(quiet);
    }
    ratios.sort_by(f64::total_cmp);
    quiet_rates.sort_by(f64::total_cmp);
    let median = |sorted: &[f64]| (sorted[(sorted.len() - 1) / 2] + sorted[sorted.len() / 2]) / 2.0;
    let quiet = median(&quiet_rates);
    println!(
        "ratio fanned / quiet write rate: median of pairs {:.2}x (goal: at least 0.70x)",
        median(&ratios)
    );
    clear_fanned();

    // Steady, at 0.7x the quiet rate: does delivery keep up?
    let rate = (quiet * 0.7) as u64;
    let (acks, write_rate) = steady(client, Target::Fanned, rate, seconds, count).await;
    let acks = acks.lock().unwrap().clone();
    let lags = fanned_lags(&acks).await;
    println!(
        "  five subscribers at {write_rate:.0} events/s (asked {rate}/s): lag to each handler p50 {:.1} ms, p99 {:.1} ms (goal: p99 at most 50 ms)",
        percentile(&lags, 0.50).as_secs_f64() * 1000.0,
        percentile(&lags, 0.99).as_secs_f64() * 1000.0,
    );
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Acknowledged commands: (counter, sequence number) -> when the reply arrived.
type Acks = Arc<Mutex<Vec<((String, u64), Instant)>>>;

/// Waits until every acknowledged event has arrived (or 60 s pass); the last arrival.
async fn all_arrived(acks: &Acks) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let acks = acks.lock().unwrap().clone();
        let (missing, last) = {
            let arrivals = arrivals().lock().unwrap();
            let missing = acks
                .iter()
                .filter(|(key, _)| !arrivals.contains_key(key))
                .count();
            let last = acks
                .iter()
                .filter_map(|(key, _)| arrivals.get(key))
                .max()
                .copied();
            (missing, last)
        };
        if missing == 0 {
            return last;
        }
        if Instant::now() > deadline {
            println!("  {missing} events not delivered within 60 s");
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let rate: u64 = env_or("BENCH_RATE", 10_000);
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let burst_count: u64 = env_or("BENCH_BURST", 100_000);
    let fan: u64 = env_or("BENCH_FANOUT", 30_000);
    let directory = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = kalix_core::Config::default()
            .with_port(0).with_admin_port(0)
            .with_store(kalix_core::StoreLocation::Sqlite(directory.path().join("bench.db")));
        let service = kalix_core::Service::new()
            .config(config)
            .start()
            .await
            .expect("the service starts");
        let client = service.component_client();

        // Steady: a tick every millisecond starts rate/1000 commands.
        let (acks, write_rate) = steady(&client, Target::Counter, rate, seconds, 0).await;
        let written = acks.lock().unwrap().len();
        all_arrived(&acks).await;
        let arrived = arrivals().lock().unwrap().clone();
        let mut lags: Vec<Duration> = acks
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(key, acked)| arrived.get(key).map(|at| at.saturating_duration_since(*acked)))
            .collect();
        lags.sort();
        println!("subscription lag, SQLite WAL synchronous=FULL, 1000 ids, one event per command");
        println!(
            "  steady: {written} events at {:.0}/s (asked {rate}/s); lag from reply to handler p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            write_rate,
            percentile(&lags, 0.50).as_secs_f64() * 1000.0,
            percentile(&lags, 0.99).as_secs_f64() * 1000.0,
            lags.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        );

        // Burst: as fast as 64 tasks are answered.
        arrivals().lock().unwrap().clear();
        let (acks, started, writes) = burst(&client, Target::Counter, burst_count).await;
        let written = acks.lock().unwrap().len() as f64;
        if let Some(last) = all_arrived(&acks).await {
            let deliver_seconds = last.duration_since(started).as_secs_f64();
            let deliveries = written / deliver_seconds;
            println!(
                "  burst: {written} events written at {writes:.0}/s, delivered at {deliveries:.0}/s (first write to last delivery)"
            );
            println!("ratio delivery / write rate: {:.3}", deliveries / writes);
        }
        fan_out(&client, fan, seconds).await;
        service.stop().await.unwrap();
        nats_publishing().await;
    });
}

/// Publishing through the service's NATS broker beside a bare JetStream publisher.
async fn nats_publishing() {
    let url = std::env::var("BENCH_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let messages: usize = env_or("BENCH_MESSAGES", 20_000);
    let Ok(client) = async_nats::connect(&url).await else {
        println!("NATS at {url} does not answer: publishing not measured");
        return;
    };
    let jetstream = async_nats::jetstream::new(client);
    let prefix = format!("bench{}.", std::process::id());
    let broker = kalix_core::BrokerLocation::Nats {
        url: url.clone(),
        subject_prefix: prefix.clone(),
    };
    let directory = tempfile::tempdir().unwrap();
    let config = kalix_core::Config::default()
        .with_port(0)
        .with_admin_port(0)
        .with_store(kalix_core::StoreLocation::Sqlite(
            directory.path().join("nats.db"),
        ))
        .with_broker(broker);
    let service = kalix_core::Service::new()
        .config(config)
        .start()
        .await
        .expect("the service starts on NATS");
    let topics = service.topics();
    // Both publish to streams of their own, made before the clock starts.
    let bare_subject = format!("{prefix}bare");
    jetstream
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            name: format!("BENCH_BARE_{}", std::process::id()),
            subjects: vec![bare_subject.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    let sample = kalix_core::Topics::message_of(&Counted::Increased, Some("c1"));
    topics.publish("framework", sample.clone()).await.unwrap();

    let framework = |round: usize| {
        let topics = topics.clone();
        let sample = sample.clone();
        async move {
            let started = Instant::now();
            let tasks: Vec<_> = (0..64)
                .map(|task| {
                    let (topics, sample) = (topics.clone(), sample.clone());
                    tokio::spawn(async move {
                        for n in (task..messages).step_by(64) {
                            let mut message = sample.clone();
                            message.id = format!("{round}-{n}");
                            topics.publish("framework", message).await.unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            messages as f64 / started.elapsed().as_secs_f64()
        }
    };
    let bare = |round: usize| {
        let jetstream = jetstream.clone();
        let (subject, sample) = (bare_subject.clone(), sample.clone());
        async move {
            let started = Instant::now();
            let tasks: Vec<_> = (0..64)
                .map(|task| {
                    let (jetstream, subject, sample) =
                        (jetstream.clone(), subject.clone(), sample.clone());
                    tokio::spawn(async move {
                        for n in (task..messages).step_by(64) {
                            let mut headers = async_nats::HeaderMap::new();
                            for (name, value) in &sample.attributes {
                                headers.insert(name.as_str(), value.as_str());
                            }
                            headers.insert("Nats-Msg-Id", format!("{round}-{n}").as_str());
                            let ack = jetstream
                                .publish_with_headers(
                                    subject.clone(),
                                    headers,
                                    sample.payload.clone(),
                                )
                                .await
                                .unwrap();
                            ack.await.unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            messages as f64 / started.elapsed().as_secs_f64()
        }
    };
    let mut framework_rates = Vec::new();
    let mut bare_rates = Vec::new();
    for round in 0..2 {
        bare_rates.push(bare(round).await);
        framework_rates.push(framework(round).await);
    }
    let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len() as f64;
    println!("NATS JetStream publishing, {messages} messages per round from 64 tasks, 2 rounds");
    println!(
        "  bare async-nats: {:.0} messages/s {bare_rates:.0?}",
        mean(&bare_rates)
    );
    println!(
        "  kalix-core broker: {:.0} messages/s {framework_rates:.0?}",
        mean(&framework_rates)
    );
    println!(
        "ratio kalix-core / bare async-nats: {:.3}",
        mean(&framework_rates) / mean(&bare_rates)
    );
    service.stop().await.unwrap();
    for name in [
        format!("BENCH_BARE_{}", std::process::id()),
        format!("KALIX_{}framework", prefix.replace('.', "_")),
    ] {
        let _ = jetstream.delete_stream(&name).await;
    }
}
