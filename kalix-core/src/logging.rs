//! What a service binary installs before it serves: its log lines (text or JSON, filtered by
//! `RUST_LOG`) and, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! is set, the export of its spans over OTLP, honouring the standard `OTEL_*` variables.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Level;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// The share of root traces kept when `OTEL_TRACES_SAMPLER` is not set (a trace whose caller
/// sampled it is always kept: parent-based).
const DEFAULT_ROOT_RATIO: f64 = 0.1;

/// What was installed; its spans are flushed at [`Installed::shutdown`].
pub(crate) struct Installed {
    provider: Option<SdkTracerProvider>,
}

impl Installed {
    /// Exports the spans still queued.
    pub(crate) fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "exporting the last spans failed");
        }
    }
}

/// Installs the log subscriber (unless the application installed one) and, if configured, the
/// OTLP export of spans. Runs inside the service's tokio runtime: the exporter's batches are
/// sent from a task of it.
pub(crate) fn install(format: LogFormat, service_name: &str) -> Installed {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let lines = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
        // One object per line, with the fields of the spans it happened in.
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(WithTraceIds(
                tracing_subscriber::fmt::format()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true),
            ))
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .boxed(),
    }
    .with_filter(filter);
    let (provider, problem) = match otlp_provider(service_name) {
        Ok(provider) => (provider, None),
        Err(problem) => (None, Some(problem)),
    };
    // The runtime's spans are at debug level, so that without an exporter they are disabled
    // where they are made; the exporter takes spans to debug and events to info.
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("kalix"))
            .with_filter(filter_fn(|metadata| {
                if metadata.is_span() {
                    *metadata.level() <= Level::DEBUG
                } else {
                    *metadata.level() <= Level::INFO
                }
            }))
    });
    let installed = tracing_subscriber::registry()
        .with(lines)
        .with(spans)
        .try_init()
        .is_ok();
    if let Some(problem) = problem {
        tracing::error!("spans are not exported: {problem}");
    }
    match provider {
        // A subscriber set by the application wins: its spans are its own business.
        Some(provider) if !installed => {
            let _ = provider.shutdown();
            Installed { provider: None }
        }
        Some(provider) => {
            tracing::info!(
                endpoint = %std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                    .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT"))
                    .unwrap_or_default(),
                "exporting spans over OTLP"
            );
            Installed {
                provider: Some(provider),
            }
        }
        None => Installed { provider: None },
    }
}

/// A JSON line with the `trace_id` and `span_id` of the exported span it happened in, so logs
/// and traces join up in a log store.
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use opentelemetry::trace::TraceContextExt;
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let span = tracing::Span::current();
        if !span.is_disabled() {
            let context = span.context();
            let ids = context.span().span_context().clone();
            if ids.is_valid()
                && let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(&line)
            {
                object.insert("trace_id".into(), ids.trace_id().to_string().into());
                object.insert("span_id".into(), ids.span_id().to_string().into());
                return writeln!(writer, "{}", serde_json::Value::Object(object));
            }
        }
        writer.write_str(&line)
    }
}

/// The tracer provider the `OTEL_*` variables describe, or `None` when no endpoint is set.
fn otlp_provider(service_name: &str) -> Result<Option<SdkTracerProvider>, String> {
    let set = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    if set("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
        && set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none()
    {
        return Ok(None);
    }
    use opentelemetry_otlp::{SpanExporter, WithExportConfig};
    let protocol = set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_else(|| "http/protobuf".to_owned());
    let exporter = match protocol.as_str() {
        "grpc" => SpanExporter::builder().with_tonic().build(),
        "http/protobuf" => SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build(),
        other => {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL is '{other}'; expected grpc or http/protobuf"
            ));
        }
    }
    .map_err(|error| format!("the OTLP exporter: {error}"))?;
    let processor =
        opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .build();
    let name = set("OTEL_SERVICE_NAME").unwrap_or_else(|| service_name.to_owned());
    let mut builder = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(Resource::builder().with_service_name(name).build());
    // The SDK reads OTEL_TRACES_SAMPLER itself; without it, ours is the default.
    if set("OTEL_TRACES_SAMPLER").is_none() {
        builder = builder.with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            DEFAULT_ROOT_RATIO,
        ))));
    }
    Ok(Some(builder.build()))
}
