use kalix_core::{Config, Service, StartError};
use kalix_testkit::TestKit;
use kalix_testkit::reqwest::StatusCode;
use serde_json::{Value, json};

use crate::components::Recorder;
use crate::start;

#[tokio::test]
async fn a_panicking_handler_is_a_500_with_a_correlation_id_and_the_service_keeps_serving() {
    let (testkit, _) = start().await;
    for _ in 0..3 {
        let response = testkit.get("/effects/panic/boom").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = response.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap();
        let id = detail
            .strip_prefix("Unexpected error [")
            .and_then(|d| d.strip_suffix(']'))
            .unwrap();
        assert_eq!(id.len(), 36, "a UUID: {detail}");
        // The panic message stays in the log, not in the response.
        assert!(!detail.contains("boom"));
    }
    let response = testkit.get("/effects/echo/5").send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!(5));
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let testkit = TestKit::builder()
        .dependency(Recorder::default())
        .config(|config| config.with_max_body_bytes(64))
        .start()
        .await;
    let text = "x".repeat(100);
    let response = testkit
        .put("/effects/payload/1")
        .json(&json!({"text": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "Request body is larger than the limit of 64 bytes"
    );

    // Chunked, with no Content-Length, is cut off at the limit too.
    let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(format!(
        "{{\"text\":\"{text}\"}}"
    ))]);
    let response = testkit
        .put("/effects/payload/1")
        .header("content-type", "application/json")
        .body(kalix_testkit::reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    assert_eq!(response.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);

    let response = testkit
        .put("/effects/payload/1")
        .json(&json!({"text": "small"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_missing_dependency_stops_the_start_with_its_type_named() {
    let error = Service::new()
        .config(Config::default().with_port(0).with_admin_port(0))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(error, StartError::MissingDependency(_)));
    assert!(error.to_string().contains("Recorder"), "{error}");
}

#[tokio::test]
async fn a_call_to_a_handler_that_does_not_exist_is_a_404() {
    let (testkit, _) = start().await;
    let call = kalix_core::Call::new("nowhere::Nothing", "nothing");
    let error = kalix_core::DeferredCall::<String>::new(call, testkit.component_client())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 404);
    assert_eq!(
        error.description(),
        "no handler nowhere::Nothing::nothing in this service"
    );
}
