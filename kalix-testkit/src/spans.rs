//! The spans a service under test made, kept in memory, so a test can assert the trace of a
//! request: which spans, under which parents, with which attributes.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The spans of the test binary, every one sampled. One reader serves the whole test binary
/// (spans go through the process's one `tracing` subscriber): find a test's spans by its trace.
///
/// ```no_run
/// # async fn example(testkit: kalix_testkit::TestKit) {
/// let spans = kalix_testkit::Spans::install();
/// let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
/// testkit
///     .post("/tally/t1/add/2")
///     .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
///     .send()
///     .await
///     .unwrap();
/// let names: Vec<String> = spans.of_trace(trace).into_iter().map(|s| s.name).collect();
/// # }
/// ```
pub struct Spans {
    exporter: InMemorySpanExporter,
    /// Kept alive: it owns the exporter's pipeline.
    _provider: SdkTracerProvider,
}

/// One finished span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedSpan {
    /// The `service.name` of the process that made it, as exported (empty in memory).
    pub service: String,
    /// Its name (`POST /tally/<id>/add/<n>`, `components::Tally::add`, ..).
    pub name: String,
    /// Its trace, 32 hex digits.
    pub trace_id: String,
    /// Its id, 16 hex digits.
    pub span_id: String,
    /// Its parent's id, if it has a parent (remote or local).
    pub parent_span_id: Option<String>,
    /// Its attributes, as text.
    pub attributes: BTreeMap<String, String>,
    /// The spans it links to, as (trace id, span id): a commit's to the commands it carries.
    pub links: Vec<(String, String)>,
}

static SPANS: OnceLock<Spans> = OnceLock::new();

impl Spans {
    /// Installs, once per test binary, the subscriber that keeps spans in memory, and returns
    /// the reader. Panics if the binary installed another subscriber first.
    pub fn install() -> &'static Spans {
        SPANS.get_or_init(|| {
            let exporter = InMemorySpanExporter::default();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(exporter.clone())
                .build();
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("kalix-testkit"))
                .with_filter(tracing_subscriber::filter::filter_fn(|metadata| {
                    metadata.is_span() && *metadata.level() <= tracing::Level::DEBUG
                }));
            tracing_subscriber::registry()
                .with(layer)
                .try_init()
                .expect("Spans::install needs the test binary's tracing subscriber");
            Spans {
                exporter,
                _provider: provider,
            }
        })
    }

    /// The finished spans of trace `trace_id` (32 hex digits), in the order they ended.
    pub fn of_trace(&self, trace_id: &str) -> Vec<RecordedSpan> {
        self.all()
            .into_iter()
            .filter(|span| span.trace_id == trace_id)
            .collect()
    }

    /// Every finished span of the test binary, in the order they ended.
    pub fn all(&self) -> Vec<RecordedSpan> {
        self.exporter
            .get_finished_spans()
            .unwrap_or_default()
            .into_iter()
            .map(|span| RecordedSpan {
                service: String::new(),
                name: span.name.to_string(),
                trace_id: span.span_context.trace_id().to_string(),
                span_id: span.span_context.span_id().to_string(),
                parent_span_id: (span.parent_span_id != opentelemetry::trace::SpanId::INVALID)
                    .then(|| span.parent_span_id.to_string()),
                attributes: span
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                    .collect(),
                links: span
                    .links
                    .iter()
                    .map(|link| {
                        (
                            link.span_context.trace_id().to_string(),
                            link.span_context.span_id().to_string(),
                        )
                    })
                    .collect(),
            })
            .collect()
    }
}
