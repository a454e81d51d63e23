//! A restart rebuilds the state exactly, reading only the events after the latest snapshot.

use std::sync::Arc;

use kalix_core::store::SqliteStore;
use kalix_testkit::{CountingStore, TestKit};
use serde_json::json;

use crate::http::value;

async fn start(path: &std::path::Path) -> (TestKit, CountingStore) {
    let store = CountingStore::new(Arc::new(SqliteStore::open(path).unwrap()));
    let testkit = TestKit::builder().store(store.store()).start().await;
    (testkit, store)
}

#[tokio::test]
async fn a_restart_after_250_events_replays_at_most_100_after_the_snapshot() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("journal.db");
    let (testkit, _) = start(&database).await;
    for n in 1..=250 {
        // A mix of events, so that the order of replay matters.
        let path = if n % 50 == 0 {
            "/counter/r/multiply/2".to_owned()
        } else {
            format!("/counter/r/increase/{n}")
        };
        assert!(
            testkit
                .post(&path)
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }
    let before = value(&testkit, "r").await;
    testkit.stop().await;

    let (restarted, store) = start(&database).await;
    assert_eq!(
        value(&restarted, "r").await,
        before,
        "the state is rebuilt exactly"
    );
    assert_eq!(
        store.calls("snapshots loaded"),
        1,
        "loading starts from a snapshot"
    );
    let replayed = store.calls("events loaded");
    assert!(
        replayed <= 100,
        "{replayed} events replayed after the snapshot"
    );
    assert_eq!(
        replayed, 50,
        "the snapshot at 200 leaves 50 events to replay"
    );
    let body: serde_json::Value = restarted
        .post("/counter/r/increase/1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected = before.as_str().unwrap().parse::<i64>().unwrap() + 1;
    assert_eq!(
        body,
        json!(expected.to_string()),
        "the journal continues after the restart"
    );
}
