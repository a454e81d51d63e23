//! The reliable-timers sample's tests: the contract in-process with the clock moved by hand,
//! over HTTP in real time, across SIGKILL (restarted before and after the timer fell due), and
//! on PostgreSQL with two processes.

mod api;
mod http;
mod in_process;
mod unit;

use serde_json::{Value, json};

/// Places an order through the action at `base`; returns its id.
pub async fn place(http: &kalix_testkit::reqwest::Client, base: &str) -> String {
    let order: Value = http
        .post(format!("{base}/orders/place"))
        .json(&json!({"item": "tea", "quantity": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["placed"], true, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

/// The status code of `GET /order/<id>`.
pub async fn order_status(http: &kalix_testkit::reqwest::Client, base: &str, id: &str) -> u16 {
    http.get(format!("{base}/order/{id}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
