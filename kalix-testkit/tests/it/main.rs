//! Tests of the framework as a user sees it: components written with the macros, called over
//! HTTP through the `TestKit`, through the component client, and through the unit testkit; and
//! the compile errors of misused macros (`ui`).

mod admin_api;
mod components;
mod docs;
mod effects;
mod entities;
mod failures;
mod grpc;
mod guide;
mod hardening;
mod openapi;
mod operating;
mod params;
mod startup;
mod store;
mod streams;
mod subscriptions;
mod timers;
mod unit;
mod workflows;

use components::Recorder;
use kalix_testkit::TestKit;

/// Starts the service with the dependencies every test component needs.
async fn start() -> (TestKit, Recorder) {
    let recorder = Recorder::default();
    let testkit = TestKit::builder()
        .dependency(recorder.clone())
        .start()
        .await;
    (testkit, recorder)
}

/// The JSON body of `GET path`.
async fn get_json(testkit: &TestKit, path: &str) -> serde_json::Value {
    let response = testkit.get(path).send().await.unwrap();
    response.json().await.unwrap()
}
