//! The choreography-saga sample's tests: the contract in-process (the clock moved by hand), and
//! over HTTP against the binary with a short confirmation timeout, across a SIGKILL.

mod api;
mod http;
mod in_process;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A request to `url` with `method` and a JSON body: the status and the JSON reply.
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

/// `POST /api/users/<id>`.
pub async fn create_user(
    http: &kalix_testkit::reqwest::Client,
    base: &str,
    id: &str,
    name: &str,
    country: &str,
    email: &str,
) -> (u16, Value) {
    let body = json!({"name": name, "country": country, "email": email});
    send(http, "POST", format!("{base}/api/users/{id}"), Some(body)).await
}

/// Waits until `GET /api/emails/<address>` says `status`, or `within` passes; returns the last
/// reply.
pub async fn email_within(base: &str, address: &str, status: &str, within: Duration) -> Value {
    let http = kalix_testkit::reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        let (_, body) = send(&http, "GET", format!("{base}/api/emails/{address}"), None).await;
        if body["status"] == status || Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
