use kalix_core::StoreLocation;
use kalix_testkit::TestKit;
use serde_json::json;

use crate::http::value;

async fn start_on(path: &std::path::Path) -> TestKit {
    let location = StoreLocation::Sqlite(path.to_owned());
    TestKit::builder()
        .config(|config| config.with_store(location))
        .start()
        .await
}

#[tokio::test]
async fn state_survives_a_restart_of_the_service() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("counter.db");
    let testkit = start_on(&database).await;
    testkit
        .post("/counter/r1/increase")
        .json(&json!({"value": 41}))
        .send()
        .await
        .unwrap();
    testkit.post("/counter/r1/plusone").send().await.unwrap();
    testkit.post("/counter/r2/plusone").send().await.unwrap();
    testkit.delete("/counter/r2").send().await.unwrap();
    testkit.stop().await;

    let restarted = start_on(&database).await;
    assert_eq!(value(&restarted, "r1").await, 42);
    assert_eq!(
        value(&restarted, "r2").await,
        0,
        "a delete survives the restart"
    );
    restarted.post("/counter/r1/plusone").send().await.unwrap();
    assert_eq!(value(&restarted, "r1").await, 43);
}

#[tokio::test]
async fn concurrent_clients_on_one_counter_lose_no_increment() {
    let directory = tempfile::tempdir().unwrap();
    let testkit = start_on(&directory.path().join("counter.db")).await;
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let http = testkit.http().clone();
            let url = testkit.url("/counter/hot/increase");
            tokio::spawn(async move {
                for _ in 0..100 {
                    let response = http
                        .post(&url)
                        .json(&json!({"value": 1}))
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(value(&testkit, "hot").await, 6400);
}
