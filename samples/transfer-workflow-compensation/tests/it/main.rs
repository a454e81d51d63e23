//! The transfer-workflow-compensation sample's tests: Kalix's five scenarios in the workflow unit
//! testkit (wallets stubbed) and in-process against the real wallets, and over HTTP across a
//! SIGKILL.

mod api;
mod http;
mod in_process;
mod unit;

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

/// A request to `path` under `base` with `method`: the status and the JSON body.
pub async fn send(
    http: &kalix_testkit::reqwest::Client,
    method: &str,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method.parse().unwrap(), url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.unwrap();
    (
        reply.status().as_u16(),
        reply.json().await.unwrap_or(Value::Null),
    )
}

/// `PUT /transfer/<id>`.
pub async fn start(
    http: &kalix_testkit::reqwest::Client,
    base: &str,
    id: &str,
    from: &str,
    to: &str,
    amount: i64,
) -> (u16, Value) {
    send(
        http,
        "PUT",
        format!("{base}/transfer/{id}"),
        Some(json!({"from": from, "to": to, "amount": amount})),
    )
    .await
}

/// Waits until transfer `id` has `status`, or `within` passes; returns its last status.
pub async fn status_within(base: &str, id: &str, status: &str, within: Duration) -> Value {
    let http = kalix_testkit::reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        let (_, body) = send(&http, "GET", format!("{base}/transfer/{id}"), None).await;
        if body["status"] == status || Instant::now() > deadline {
            return body["status"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
