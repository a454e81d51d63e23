//! W3C trace context (`traceparent`, `tracestate`) carried in a call's metadata, so one trace
//! follows a request through every component it reaches: the ingress reads it from the
//! request's headers, each call a handler makes carries its span's, and a timer or a topic
//! message keeps the one it was made with.
//!
//! Without a tracing layer exporting spans, spans are disabled and these do nothing: a
//! `traceparent` a request brought passes on unchanged in the metadata.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::metadata::Metadata;

/// The entry (and header) carrying the W3C trace parent.
pub const TRACEPARENT: &str = "traceparent";
/// The entry (and header) carrying the W3C trace state.
pub const TRACESTATE: &str = "tracestate";

/// Whether spans may be recorded at all: some subscriber takes debug-level spans (an exporting
/// layer, the testkit's reader, `RUST_LOG=debug`). One atomic load; when it is `false` the
/// runtime skips its tracing work entirely, so a service that exports nothing pays nothing.
#[inline]
pub(crate) fn spans_on() -> bool {
    tracing::level_filters::LevelFilter::current() >= tracing::Level::DEBUG
}

/// The trace context entries of a text carrier (metadata, HTTP headers), as the propagator
/// reads them.
struct Carrier {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Extractor for Carrier {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent.as_deref(),
            TRACESTATE => self.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

struct MetadataWriter<'a>(&'a mut Metadata);

impl Injector for MetadataWriter<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.set(key, value);
    }
}

/// Makes `span` a child of the trace context `carrier` holds, if it holds a valid one; the
/// span's parent is otherwise the current span, as `tracing` sets it.
pub(crate) fn adopt_parent<'a>(span: &tracing::Span, carrier: impl Fn(&str) -> Option<&'a str>) {
    if !spans_on() || span.is_disabled() {
        return;
    }
    let Some(traceparent) = carrier(TRACEPARENT) else {
        return;
    };
    let carrier = Carrier {
        traceparent: Some(traceparent.to_owned()),
        tracestate: carrier(TRACESTATE).map(str::to_owned),
    };
    let context = TraceContextPropagator::new().extract(&carrier);
    if context.span().span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

/// Makes `span` a child of the trace context `metadata` carries, if any.
pub(crate) fn adopt_parent_of(span: &tracing::Span, metadata: &Metadata) {
    adopt_parent(span, |key| metadata.get(key));
}

/// The current span's context, if spans are exported: for a link from a span made elsewhere.
pub(crate) fn current_span_context() -> Option<opentelemetry::trace::SpanContext> {
    if !spans_on() {
        return None;
    }
    let span = tracing::Span::current();
    if span.is_disabled() {
        return None;
    }
    let context = span.context().span().span_context().clone();
    context.is_valid().then_some(context)
}

/// Links `span` to each of `contexts` (a commit to the commands whose writes it carries).
pub(crate) fn link_all(
    span: &tracing::Span,
    contexts: impl IntoIterator<Item = opentelemetry::trace::SpanContext>,
) {
    if span.is_disabled() {
        return;
    }
    for context in contexts {
        span.add_link(context);
    }
}

/// The current span's `traceparent`, if spans are exported: what a change or an event keeps for
/// its subscribers.
pub(crate) fn current_traceparent() -> Option<String> {
    if !spans_on() {
        return None;
    }
    let mut metadata = Metadata::new();
    inject_current(&mut metadata);
    metadata.get(TRACEPARENT).map(str::to_owned)
}

/// Puts the current span's trace context into `metadata`, replacing one it carried, so the call
/// it goes with continues the trace from here. Without an exporting layer nothing changes.
pub(crate) fn inject_current(metadata: &mut Metadata) {
    if !spans_on() {
        return;
    }
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return;
    }
    TraceContextPropagator::new().inject_context(&context, &mut MetadataWriter(metadata));
}
