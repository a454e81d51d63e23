//! The binary's spans, exported over OTLP (HTTP and gRPC) to a stand-in collector, as an
//! operator would receive them: one trace from a caller's `traceparent` through the forward it
//! makes.

use kalix_testkit::{OtlpCollector, ServiceProcess};

#[tokio::test]
async fn over_http_a_request_and_its_forward_arrive_at_the_collector_as_one_trace() {
    one_trace("http/protobuf", "4bf92f3577b34da6a3ce929d0e0e4736").await;
}

#[tokio::test]
async fn over_grpc_a_request_and_its_forward_arrive_at_the_collector_as_one_trace() {
    one_trace("grpc", "5cf92f3577b34da6a3ce929d0e0e4737").await;
}

async fn one_trace(protocol: &str, trace: &str) {
    let collector = OtlpCollector::start().await;
    let endpoint = match protocol {
        "grpc" => collector.grpc_endpoint(),
        _ => collector.endpoint(),
    };
    let service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_fibonacci"),
        &[
            ("KALIX_STORE", "sqlite::memory:"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let caller = "00f067aa0ba902b7";
    // LimitedFibonacci forwards a small number to Fibonacci.
    let response = reqwest::Client::new()
        .get(format!("{}/limitedfibonacci/5/next", service.base_url()))
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let spans = collector.wait_for_trace(trace, 3).await;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let http = spans
        .iter()
        .find(|s| s.name == "GET /limitedfibonacci/<number>/next")
        .unwrap_or_else(|| panic!("no request span in {names:?}"));
    assert_eq!(http.parent_span_id.as_deref(), Some(caller));
    assert_eq!(http.service, "fibonacci");
    assert_eq!(
        http.attributes.get("http.route").map(String::as_str),
        Some("/limitedfibonacci/<number>/next")
    );
    let runs: Vec<_> = spans
        .iter()
        .filter(|s| s.name.ends_with("::get_number"))
        .collect();
    assert_eq!(
        runs.len(),
        2,
        "the handler and the one it forwards to: {names:?}"
    );
    for run in runs {
        assert_eq!(
            run.parent_span_id.as_ref(),
            Some(&http.span_id),
            "{names:?}"
        );
    }
}
