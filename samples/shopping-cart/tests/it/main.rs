//! The shopping cart sample's tests: the entity through `ValueEntityTestKit`, and the Kalix HTTP
//! contract of the entity and the controller through `TestKit`.

mod api;
mod controller;
mod entity;
mod unit;

use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::Value;

/// Sends a request and returns the status and the JSON body.
pub async fn send(request: kalix_testkit::reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

pub async fn cart(testkit: &TestKit, id: &str) -> Value {
    send(testkit.get(&format!("/cart/{id}"))).await.1
}
