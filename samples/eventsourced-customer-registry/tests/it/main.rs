//! The event-sourced customer registry's tests: its contract and views in-process, a journal
//! written in the old event shape replaying, the stream it publishes, and its views after a
//! SIGKILL.

mod api;
mod contract;
mod kill;
mod migration;

use std::time::{Duration, Instant};

use serde_json::Value;

// Links the service's components into this test binary (the tests speak HTTP only).
use eventsourced_customer_registry as _;

/// The rows of an NDJSON stream at `url`, read until `done` holds for them or 20 s pass.
pub async fn rows_until(url: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = kalix_testkit::reqwest::get(url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let rows: Vec<Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if done(&rows) || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
