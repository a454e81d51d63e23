//! The view-store sample from outside, over HTTP: its contract in-process through `TestKit`,
//! inputs the contract does not list, its joined views across a SIGKILL, and two processes on
//! one PostgreSQL database.

mod api;
mod contract;
mod kill;
mod two_processes;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A customer's create body.
pub fn customer(name: &str) -> Value {
    json!({
        "email": format!("{}@example.com", name.to_lowercase()),
        "name": name,
        "address": {"street": "123 Some Street", "city": "Some City"},
    })
}

/// A product's create body.
pub fn product(name: &str, units: u64) -> Value {
    json!({"name": name, "price": {"currency": "USD", "units": units, "cents": 45}})
}

/// An order's create body.
pub fn order(product_id: &str, customer_id: &str, quantity: u32) -> Value {
    json!({"productId": product_id, "customerId": customer_id, "quantity": quantity})
}

/// POSTs `body` to `base` + `path` and checks the answer is `"Ok"`.
pub async fn create(http: &kalix_testkit::reqwest::Client, base: &str, path: &str, body: &Value) {
    let response = http
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(
        (status.as_u16(), text.as_str()),
        (200, "\"Ok\""),
        "POST {path}"
    );
}

/// GETs `url` until `done` holds for its (status, JSON body), or 20 s have passed; returns the
/// last answer.
pub async fn until(url: &str, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
    let http = kalix_testkit::reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if done(status, &body) || Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `orderId`s of a list of orders, in order.
pub fn order_ids(orders: &Value) -> Vec<&str> {
    orders
        .as_array()
        .map(|orders| {
            orders
                .iter()
                .map(|o| o["orderId"].as_str().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}
