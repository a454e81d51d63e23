//! A stand-in OpenTelemetry collector: receives spans over OTLP, on HTTP (protobuf) and on
//! gRPC, so a test can run a service binary with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at it
//! and assert the traces it exports.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;

use crate::RecordedSpan;

/// A collector on two free local ports: OTLP/HTTP (`POST /v1/traces`, [`OtlpCollector::endpoint`])
/// and OTLP/gRPC ([`OtlpCollector::grpc_endpoint`]).
///
/// ```no_run
/// # async fn example() {
/// let collector = kalix_testkit::OtlpCollector::start().await;
/// let service = kalix_testkit::ServiceProcess::spawn(
///     "target/debug/fibonacci",
///     &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()), ("OTEL_BSP_SCHEDULE_DELAY", "100")],
/// );
/// let spans = collector.wait_for_trace("4bf92f3577b34da6a3ce929d0e0e4736", 3).await;
/// # }
/// ```
pub struct OtlpCollector {
    endpoint: String,
    grpc_endpoint: String,
    received: Arc<Mutex<Vec<RecordedSpan>>>,
}

impl OtlpCollector {
    /// Starts it on the current tokio runtime.
    pub async fn start() -> Self {
        let received: Arc<Mutex<Vec<RecordedSpan>>> = Arc::default();
        let kept = Arc::clone(&received);
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let kept = Arc::clone(&kept);
                async move {
                    match ExportTraceServiceRequest::decode(body) {
                        Ok(request) => {
                            kept.lock().unwrap().extend(spans_of(request));
                            (http::StatusCode::OK, Vec::new())
                        }
                        Err(error) => (http::StatusCode::BAD_REQUEST, error.to_string().into()),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let grpc_endpoint = format!("http://{}", listener.local_addr().expect("bound"));
        let service = TraceServiceServer::new(GrpcReceiver(Arc::clone(&received)));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        Self {
            endpoint,
            grpc_endpoint,
            received,
        }
    }

    /// Its OTLP/HTTP base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Its OTLP/gRPC URL, for `OTEL_EXPORTER_OTLP_ENDPOINT` with
    /// `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`.
    pub fn grpc_endpoint(&self) -> &str {
        &self.grpc_endpoint
    }

    /// The spans of trace `trace_id` (32 hex digits) received so far.
    pub fn trace(&self, trace_id: &str) -> Vec<RecordedSpan> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|span| span.trace_id == trace_id)
            .cloned()
            .collect()
    }

    /// The spans of trace `trace_id` once at least `count` arrived (or what arrived in 20 s).
    pub async fn wait_for_trace(&self, trace_id: &str, count: usize) -> Vec<RecordedSpan> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let spans = self.trace(trace_id);
            if spans.len() >= count || Instant::now() > deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The gRPC side: the same spans, another transport.
struct GrpcReceiver(Arc<Mutex<Vec<RecordedSpan>>>);

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0
            .lock()
            .unwrap()
            .extend(spans_of(request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(text)) => text.clone(),
        Some(Value::IntValue(n)) => n.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn spans_of(request: ExportTraceServiceRequest) -> Vec<RecordedSpan> {
    let mut spans = Vec::new();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .map(|kv| text(kv.value.as_ref().and_then(|v| v.value.as_ref())))
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                spans.push(RecordedSpan {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: (!span.parent_span_id.is_empty())
                        .then(|| hex(&span.parent_span_id)),
                    attributes: span
                        .attributes
                        .iter()
                        .map(|kv| {
                            (
                                kv.key.clone(),
                                text(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                            )
                        })
                        .collect(),
                    links: span
                        .links
                        .iter()
                        .map(|link| (hex(&link.trace_id), hex(&link.span_id)))
                        .collect(),
                });
            }
        }
    }
    spans
}
