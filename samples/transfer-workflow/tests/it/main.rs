//! The transfer-workflow sample's tests: the contract in-process (the clock moved by hand), over
//! HTTP across SIGKILL mid-transfer, and on PostgreSQL with two processes, one of them killed.

mod admin;
mod api;
mod console;
mod http;
mod in_process;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Creates wallet `id` with `balance` at `base`.
pub async fn create_wallet(
    http: &kalix_testkit::reqwest::Client,
    base: &str,
    id: &str,
    balance: i64,
) {
    let reply = http
        .post(format!("{base}/wallet/{id}/create/{balance}"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "{}", reply.text().await.unwrap());
}

/// The balance of wallet `id`, or `None` if it does not exist.
pub async fn balance(http: &kalix_testkit::reqwest::Client, base: &str, id: &str) -> Option<i64> {
    let reply = http
        .get(format!("{base}/wallet/{id}"))
        .send()
        .await
        .unwrap();
    if reply.status() == 404 {
        return None;
    }
    Some(reply.json().await.unwrap())
}

/// `PUT /transfer/<id>`: the status and the body.
pub async fn start(
    http: &kalix_testkit::reqwest::Client,
    base: &str,
    id: &str,
    from: &str,
    to: &str,
    amount: i64,
) -> (u16, Value) {
    let reply = http
        .put(format!("{base}/transfer/{id}"))
        .json(&json!({"from": from, "to": to, "amount": amount}))
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.json().await.unwrap())
}

/// `GET /transfer/<id>`: the status and the body.
pub async fn state(http: &kalix_testkit::reqwest::Client, base: &str, id: &str) -> (u16, Value) {
    let reply = http
        .get(format!("{base}/transfer/{id}"))
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.json().await.unwrap())
}

/// Waits until transfer `id` has `status`, or `within` passes; returns its last status.
pub async fn status_within(base: &str, id: &str, status: &str, within: Duration) -> Value {
    let http = kalix_testkit::reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        let (_, body) = state(&http, base, id).await;
        if body["status"] == status || Instant::now() > deadline {
            return body["status"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
