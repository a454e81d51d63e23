//! The binary's JSON logs carry the trace and span ids of the exported span they happened in,
//! so a refused token's log line leads to its request's trace.

use std::time::Duration;

use kalix_testkit::{OtlpCollector, ServiceProcess};

#[tokio::test]
async fn a_json_log_line_names_the_trace_and_span_of_its_request() {
    let collector = OtlpCollector::start().await;
    let service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_access-control"),
        &[
            ("KALIX_STORE", "sqlite::memory:"),
            ("KALIX_LOG_FORMAT", "json"),
            ("RUST_LOG", "info,kalix_core::ingress=debug"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let response = reqwest::Client::new()
        .get(format!("{}/jwt/me", service.base_url()))
        .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let spans = collector.wait_for_trace(trace, 1).await;
    let request = spans
        .iter()
        .find(|s| s.name == "GET /jwt/me")
        .unwrap_or_else(|| panic!("{spans:#?}"));
    let mut line = None;
    for _ in 0..100 {
        line = service
            .log()
            .into_iter()
            .find(|line| line.contains("bearer token refused"));
        if line.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let line = line.expect("the refusal is logged at debug");
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["trace_id"], trace, "{line}");
    assert_eq!(entry["span_id"], request.span_id.as_str(), "{line}");
}
