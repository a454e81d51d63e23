//! Event-sourced entities: events appended per second beside value-entity updates in the same
//! run, then the time to load an entity with 10,000 events with and without snapshots.
//!
//! `cargo bench -p kalix-core --bench event_sourced`. Both entity kinds commit to one SQLite file
//! (WAL, `synchronous=FULL`) through the group commit; one event per command, 1000 random ids,
//! `BENCH_CONNECTIONS` connections (default 64) for `BENCH_SECONDS` (default 5) per round, two
//! alternating rounds each. Load time: the first command after a restart, median of 5 restarts.

#[path = "load.rs"]
mod load;

use std::time::{Duration, Instant};

use kalix_core::prelude::*;
use load::{Budget, env_or, header, load, load_with};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Default, Serialize, Deserialize)]
struct Number {
    value: i64,
}

#[derive(Default)]
struct ValueCounter;

#[value_entity(type_id = "value-counter", id = "id")]
impl ValueCounter {
    #[post("/value/<id>/increase")]
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

#[derive(Serialize, Deserialize)]
enum Increased {
    By(i64),
}

#[derive(Serialize, Deserialize)]
enum IncreasedToo {
    By(i64),
}

macro_rules! event_counter {
    ($name:ident, $event:ident, $type_id:literal, $path:literal, $get:literal, $every:literal) => {
        #[derive(Default)]
        struct $name;

        #[event_sourced_entity(type_id = $type_id, id = "id", snapshot_every = $every)]
        impl $name {
            #[post($path)]
            fn increase(
                &self,
                _counter: &i64,
                by: Number,
            ) -> event_sourced_entity::Effect<i64, $event, Number> {
                event_sourced_entity::Effect::emit_event($event::By(by.value))
                    .then_reply(|value| Number { value: *value })
            }

            #[get($get)]
            fn get(&self, counter: &i64) -> event_sourced_entity::Effect<i64, $event, Number> {
                event_sourced_entity::Effect::reply(Number { value: *counter })
            }

            #[event_handler]
            fn apply(&self, counter: i64, event: &$event) -> i64 {
                match event {
                    $event::By(by) => counter + by,
                }
            }
        }
    };
}

// The default snapshot interval, and one so large that loading replays the whole journal.
event_counter!(
    EventCounter,
    Increased,
    "event-counter",
    "/events/<id>/increase",
    "/events/<id>",
    100
);
event_counter!(
    UnsnapshottedCounter,
    IncreasedToo,
    "unsnapshotted",
    "/plain/<id>/increase",
    "/plain/<id>",
    1_000_000_000
);

fn random(prefix: &str, worker: usize, sequence: u64) -> String {
    let id = (sequence
        .wrapping_mul(2_654_435_761)
        .wrapping_add(worker as u64 * 97))
        % 1000;
    format!("/{prefix}/c{id}/increase")
}

fn value_update(worker: usize, sequence: u64) -> (&'static str, String, &'static str) {
    ("POST", random("value", worker, sequence), r#"{"value":1}"#)
}

fn event_append(worker: usize, sequence: u64) -> (&'static str, String, &'static str) {
    ("POST", random("events", worker, sequence), r#"{"value":1}"#)
}

fn long_snapshotted(_: usize, _: u64) -> (&'static str, String, &'static str) {
    ("POST", "/events/long/increase".to_owned(), r#"{"value":1}"#)
}

fn long_unsnapshotted(_: usize, _: u64) -> (&'static str, String, &'static str) {
    ("POST", "/plain/long/increase".to_owned(), r#"{"value":1}"#)
}

async fn start(database: &std::path::Path) -> kalix_core::RunningService {
    let config = kalix_core::Config::default()
        .with_port(0)
        .with_admin_port(0)
        .with_store(kalix_core::StoreLocation::Sqlite(database.to_owned()));
    kalix_core::Service::new()
        .config(config)
        .start()
        .await
        .expect("the service starts")
}

/// The time of the first request to `path` after a fresh start: loading the entity.
async fn cold_load(database: &std::path::Path, path: &str) -> Duration {
    let service = start(database).await;
    let url = format!("http://{}{path}", service.local_addr());
    let started = Instant::now();
    let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let elapsed = started.elapsed();
    assert!(body.contains("value"), "{body}");
    service.stop().await.unwrap();
    elapsed
}

fn main() {
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
    let round = Duration::from_secs_f64(seconds);
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("bench.db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let service = start(&database).await;
        let address = service.local_addr();
        println!("one event (or state update) per command, 1000 random ids, {connections} connections, 2 rounds x {seconds}s");
        println!("{}", header());
        let warm_up = Duration::from_secs_f64((seconds / 5.0).max(0.5));
        load(address, connections, warm_up, value_update).await;
        load(address, connections, warm_up, event_append).await;
        let mut values = load(address, connections, round, value_update).await;
        let mut events = load(address, connections, round, event_append).await;
        values = values.merge(load(address, connections, round, value_update).await);
        events = events.merge(load(address, connections, round, event_append).await);
        println!("{}", values.row("value entity updates"));
        println!("{}", events.row("event-sourced appends"));
        println!("ratio events/s / value updates/s: {:.3}", events.throughput() / values.throughput());

        // Two journals of 10,000+ events on one id each.
        let per_connection = 10_000u64.div_ceil(connections as u64);
        load_with(address, connections, Budget::Requests(per_connection), long_snapshotted).await;
        load_with(address, connections, Budget::Requests(per_connection), long_unsnapshotted).await;
        service.stop().await.unwrap();

        let events_written = per_connection * connections as u64;
        println!("loading an entity with {events_written} events (first command after a restart, median of 5):");
        for (name, path) in [("with snapshots every 100", "/events/long"), ("without snapshots", "/plain/long")] {
            let mut times = Vec::new();
            for _ in 0..5 {
                times.push(cold_load(&database, path).await);
            }
            times.sort();
            println!("  {name:<26} {:>10.2?}", times[2]);
        }
    });
}
