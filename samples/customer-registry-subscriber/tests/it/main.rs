//! The subscriber against the real registry, both as processes: the registry's binary is the
//! one `cargo test --workspace` builds beside this package's (run that, or `cargo build -p
//! eventsourced-customer-registry`, before `cargo test -p customer-registry-subscriber`).

mod api;
mod streams;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kalix_testkit::ServiceProcess;
use serde_json::Value;

/// The registry's binary, next to this package's.
pub fn registry_binary() -> PathBuf {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_customer-registry-subscriber"));
    let registry = ours.with_file_name("eventsourced-customer-registry");
    assert!(
        registry.exists(),
        "{} is missing: build it first (`cargo build -p eventsourced-customer-registry`, or run `cargo test --workspace`)",
        registry.display()
    );
    registry
}

/// The subscriber, reading the registry at `registry_url`, storing at `store`.
pub fn subscriber(registry_url: &str, store: &str) -> ServiceProcess {
    ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_customer-registry-subscriber"),
        &[
            ("KALIX_SERVICE_CUSTOMER_REGISTRY", registry_url),
            ("KALIX_STORE", store),
        ],
    )
}

/// The rows of an NDJSON stream at `url`, read until `done` holds for them or 30 s pass.
pub async fn rows_until(url: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
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
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
