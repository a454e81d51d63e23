//! The binary's spans, exported over OTLP/HTTP to a stand-in collector, as an operator would
//! receive them: one trace from a caller's `traceparent` through the forward it makes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kalix_testkit::ServiceProcess;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// What the collector received: (service.name, span) pairs.
type Received = Arc<Mutex<Vec<(String, opentelemetry_proto::tonic::trace::v1::Span)>>>;

/// A stand-in OTLP/HTTP collector on a free port: its base URL and what it receives.
async fn collector() -> (String, Received) {
    let received: Received = Arc::default();
    let kept = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
            let mut kept = kept.lock().unwrap();
            for resource in request.resource_spans {
                let service = resource
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| kv.value.as_ref())
                    .and_then(|v| v.value.as_ref())
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default();
                for scope in resource.scope_spans {
                    for span in scope.spans {
                        kept.push((service.clone(), span));
                    }
                }
            }
            async { Vec::<u8>::new() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_request_and_its_forward_arrive_at_the_collector_as_one_trace() {
    let (endpoint, received) = collector().await;
    let service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_fibonacci"),
        &[
            ("KALIX_STORE", "sqlite::memory:"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller = "00f067aa0ba902b7";
    // LimitedFibonacci forwards a small number to Fibonacci.
    let response = reqwest::Client::new()
        .get(format!("{}/limitedfibonacci/5/next", service.base_url()))
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let mut spans = Vec::new();
    for _ in 0..100 {
        spans = received
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, span)| hex(&span.trace_id) == trace)
            .cloned()
            .collect::<Vec<_>>();
        if spans.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
    let http = spans
        .iter()
        .find(|(_, s)| s.name == "GET /limitedfibonacci/<number>/next")
        .unwrap_or_else(|| panic!("no request span in {names:?}"));
    assert_eq!(hex(&http.1.parent_span_id), caller);
    assert!(http.0.contains("fibonacci"), "service.name {}", http.0);
    let runs: Vec<_> = spans
        .iter()
        .filter(|(_, s)| s.name.ends_with("::get_number"))
        .collect();
    assert_eq!(
        runs.len(),
        2,
        "the handler and the one it forwards to: {names:?}"
    );
    for (_, run) in runs {
        assert_eq!(run.parent_span_id, http.1.span_id, "{names:?}");
    }
}
