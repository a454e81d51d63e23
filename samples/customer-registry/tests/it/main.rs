//! The customer registry's tests: its HTTP contract and its views in-process through `TestKit`,
//! the typed view client, unit tests of update methods, and the views across a SIGKILL.

mod api;
mod contract;
mod kill;
mod two_processes;
mod unit;
mod views;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A customer's JSON.
pub fn customer(id: &str, email: &str, name: &str, city: Option<&str>) -> Value {
    json!({
        "customerId": id,
        "email": email,
        "name": name,
        "address": city.map(|city| json!({"street": format!("{id} street"), "city": city})),
    })
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

/// The lines of an NDJSON body, parsed.
pub fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
