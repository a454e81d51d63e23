//! Requests into invocations: path parameters, query, forwarded headers and a bounded JSON body.
//!
//! A body is bounded in size (413), in the time it may take to arrive (408), and in what all
//! bodies being received at once may hold together (503): a client that stalls an upload holds
//! only the bytes it sent, and only until its deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;

use super::guard::Guard;
use super::metrics::RouteMetrics;
use super::problem::{no_route, problem_response};
use super::response::{StreamFormat, outcome_response};
use super::routes::{RouteTable, RouteTemplate};
use crate::dispatch::{BoundHandler, Dispatcher};
use crate::invocation::{Body, Invocation};
use crate::log_limit::LogLimit;
use crate::metadata::Metadata;
use crate::registry::HttpMethod;
use crate::telemetry::trace_context;
use tracing::Instrument;

/// Limits applied to every request.
#[derive(Clone, Debug)]
pub(crate) struct RequestLimits {
    pub max_body_bytes: usize,
    pub body_timeout: Duration,
    pub request_timeout: Duration,
    pub budget: BodyBudget,
}

/// The request body bytes all requests may hold at once, shared by every route.
#[derive(Clone, Debug)]
pub(crate) struct BodyBudget {
    free: Arc<AtomicUsize>,
}

impl BodyBudget {
    pub fn new(bytes: usize) -> Self {
        Self {
            free: Arc::new(AtomicUsize::new(bytes)),
        }
    }

    /// Takes `bytes` more into `share`; `false` (taking nothing) if the budget is spent.
    fn take<'a>(&'a self, bytes: usize, share: &mut BudgetShare<'a>) -> bool {
        let taken = self
            .free
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |free| {
                free.checked_sub(bytes)
            })
            .is_ok();
        if taken {
            share.free = Some(&self.free);
            share.bytes += bytes;
        }
        taken
    }
}

/// The bytes one body holds of the budget, given back when it is dropped.
#[derive(Default)]
pub(super) struct BudgetShare<'a> {
    free: Option<&'a AtomicUsize>,
    bytes: usize,
}

impl Drop for BudgetShare<'_> {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            free.fetch_add(self.bytes, Ordering::AcqRel);
        }
    }
}

/// The axum handler of one routed component handler.
pub(crate) fn endpoint(
    dispatcher: Arc<Dispatcher>,
    bound: BoundHandler,
    template: Arc<RouteTemplate>,
    limits: RequestLimits,
    guard: Guard,
    metrics: RouteMetrics,
) -> impl Fn(Request) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    // One shared value, so a request (and axum's clone of the handler) costs one reference count.
    let endpoint = Arc::new(Endpoint {
        dispatcher,
        bound,
        param_names: template.param_names().into(),
        limits,
        guard,
        metrics,
    });
    move |request: Request| {
        let endpoint = Arc::clone(&endpoint);
        Box::pin(async move { endpoint.serve(request).await })
    }
}

pub(super) static REQUEST_TIMED_OUT: LogLimit = LogLimit::per(Duration::from_secs(10));

/// What serving one route needs.
struct Endpoint {
    dispatcher: Arc<Dispatcher>,
    bound: BoundHandler,
    param_names: Box<[String]>,
    limits: RequestLimits,
    /// Who may call, checked before the body is read.
    guard: Guard,
    metrics: RouteMetrics,
}

impl Endpoint {
    async fn serve(&self, request: Request) -> Response {
        // The TSC, not the system clock: a clock read per request is on the hot path.
        let started = quanta::Instant::now();
        let _active = self.metrics.start();
        let response = if trace_context::spans_on() {
            let span = tracing::debug_span!(
                "http.request",
                otel.name = self.metrics.span_name(),
                otel.kind = "server",
                http.request.method = self.metrics.method(),
                http.route = self.metrics.route(),
                http.response.status_code = tracing::field::Empty,
            );
            // A caller's `traceparent` makes this request part of its trace.
            trace_context::adopt_parent(&span, |key| {
                request.headers().get(key).and_then(|v| v.to_str().ok())
            });
            // Boxed: a second copy of the request's future inside this one would double its size,
            // and a future's whole size is copied each time it moves (once per request).
            let response = Box::pin(self.respond(request).instrument(span.clone())).await;
            span.record("http.response.status_code", response.status().as_u16());
            response
        } else {
            self.respond(request).await
        };
        self.metrics.record(response.status(), started.elapsed());
        response
    }

    async fn respond(&self, request: Request) -> Response {
        let limits = &self.limits;
        let caller = match self
            .guard
            .admit(request.headers(), request.uri().path())
            .await
        {
            Ok(caller) => caller,
            Err(response) => return *response,
        };
        // The body's share of the budget is held until the response is ready.
        let (mut invocation, format, _body_bytes) =
            match invocation(request, &self.bound, &self.param_names, limits).await {
                Ok(invocation) => invocation,
                Err(response) => return *response,
            };
        invocation.set_caller(caller);
        // The handler's run continues the trace from this request's span.
        trace_context::inject_current(invocation.metadata_mut());
        let mut run = std::pin::pin!(self.dispatcher.invoke(&self.bound, invocation));
        // Most handlers finish on their first poll; only one that waits needs a timer.
        if let Some(outcome) = (&mut run).now_or_never() {
            return outcome_response(outcome, format);
        }
        match tokio::time::timeout(limits.request_timeout, run).await {
            Ok(outcome) => outcome_response(outcome, format),
            Err(_) => {
                if let Some(left_out) = REQUEST_TIMED_OUT.admit() {
                    let target = self.bound.target();
                    tracing::warn!(%target, left_out, "no response within the request timeout");
                }
                problem_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &timed_out(limits.request_timeout),
                )
            }
        }
    }
}

/// A request's invocation, how to frame a streamed reply, and the body's share of the budget.
type Parsed<'a> = (Invocation, StreamFormat, BudgetShare<'a>);

async fn invocation<'a>(
    request: Request,
    bound: &BoundHandler,
    param_names: &[String],
    limits: &'a RequestLimits,
) -> Result<Parsed<'a>, Box<Response>> {
    let (mut parts, body) = request.into_parts();
    let raw = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .map_err(|_| {
            Box::new(problem_response(
                StatusCode::BAD_REQUEST,
                "A path parameter is not valid percent-encoded UTF-8",
            ))
        })?;
    let path_params = param_names
        .iter()
        .cloned()
        .zip(raw.iter().map(|(_, value)| value.to_owned()))
        .collect();
    let route = bound.handler.route();
    let query = match (route.is_some_and(|r| r.reads_query), parts.uri.query()) {
        (true, Some(query)) => form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        _ => Vec::new(),
    };
    let metadata = forwarded_headers(&parts.headers, bound.component.forward_headers);
    let (body, body_bytes) = if route.is_some_and(|r| r.takes_body) {
        let (bytes, held) = read_json_body(&parts.headers, body, limits).await?;
        (Body::Bytes(bytes), held)
    } else {
        (Body::Absent, BudgetShare::default())
    };
    let format = if accepts_event_stream(&parts.headers) {
        StreamFormat::ServerSentEvents
    } else {
        StreamFormat::NdJson
    };
    Ok((
        Invocation::new(path_params, query, body, metadata).sent_by_client(),
        format,
        body_bytes,
    ))
}

/// The headers the component listed, and a command's idempotency key, as metadata.
/// The headers every request keeps in its metadata, as (metadata key, header name): the
/// idempotency key and the trace context. Names made once, not parsed per request.
static ALWAYS_KEPT: [(&str, HeaderName); 3] = [
    (
        Metadata::IDEMPOTENCY_KEY,
        HeaderName::from_static("idempotency-key"),
    ),
    (
        trace_context::TRACEPARENT,
        HeaderName::from_static("traceparent"),
    ),
    (
        trace_context::TRACESTATE,
        HeaderName::from_static("tracestate"),
    ),
];

pub(super) fn forwarded_headers(headers: &HeaderMap, allowed: &[&str]) -> Metadata {
    let mut metadata = Metadata::new();
    for &name in allowed {
        for value in headers.get_all(name) {
            if let Ok(value) = value.to_str() {
                metadata.append(name, value);
            }
        }
    }
    for (name, header) in &ALWAYS_KEPT {
        for value in headers.get_all(header) {
            match value.to_str() {
                Ok(value) => metadata.append(*name, value),
                // Passed on as it reads, so the dispatcher refuses it (a key of other than
                // printable ASCII) rather than the command running without its key.
                Err(_) if *name == Metadata::IDEMPOTENCY_KEY => {
                    metadata.append(*name, String::from_utf8_lossy(value.as_bytes()))
                }
                Err(_) => {}
            }
        }
    }
    metadata
}

async fn read_json_body<'a>(
    headers: &HeaderMap,
    body: axum::body::Body,
    limits: &'a RequestLimits,
) -> Result<(bytes::Bytes, BudgetShare<'a>), Box<Response>> {
    let problem = |status: StatusCode, detail: &str| Box::new(problem_response(status, detail));
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING)
        && !encoding.as_bytes().eq_ignore_ascii_case(b"identity")
    {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!(
                "Content-Encoding '{}' is not supported; send the body uncompressed",
                String::from_utf8_lossy(encoding.as_bytes())
            ),
        ));
    }
    let content_type = headers.get(header::CONTENT_TYPE);
    if let Some(content_type) = content_type
        && !is_json(content_type)
    {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!(
                "Content type '{}' is not supported; send 'application/json'",
                String::from_utf8_lossy(content_type.as_bytes())
            ),
        ));
    }
    let (bytes, held) = read_bounded(headers, body, limits).await?;
    // A body must say it is JSON: a form or plain-text request a browser may send across sites
    // without asking (CSRF) is never taken as a command.
    if content_type.is_none() && !bytes.is_empty() {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "A request body needs the header 'Content-Type: application/json'",
        ));
    }
    Ok((bytes, held))
}

/// The whole body, bounded in size (413), in the time it may take to arrive (408) and by the
/// bytes all bodies may hold at once (503); what it holds of that budget comes with it.
pub(super) async fn read_bounded<'a>(
    headers: &HeaderMap,
    body: axum::body::Body,
    limits: &'a RequestLimits,
) -> Result<(bytes::Bytes, BudgetShare<'a>), Box<Response>> {
    let problem = |status: StatusCode, detail: &str| Box::new(problem_response(status, detail));
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "Request body is larger than the limit of {} bytes",
                limits.max_body_bytes
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut body = body;
        // Frames are copied into one buffer, and its capacity is what the budget is charged:
        // the declared length when there is one, else doubling up to the limit. (A frame kept
        // as it is could pin a whole read buffer of hyper's.)
        let mut joined = bytes::BytesMut::new();
        let mut held = BudgetShare::default();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| {
                problem(
                    StatusCode::BAD_REQUEST,
                    &format!("Request body could not be read: {error}"),
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let length = joined.len() + data.len();
            if length > limits.max_body_bytes {
                return Err(too_large());
            }
            if length > joined.capacity() {
                let wanted = match declared {
                    Some(declared) => declared as usize,
                    None => (joined.capacity() * 2).min(limits.max_body_bytes),
                };
                let capacity = wanted.max(length);
                if !limits.budget.take(capacity - held.bytes, &mut held) {
                    return Err(problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The service is receiving too many request bodies at once; retry shortly",
                    ));
                }
                let mut grown = bytes::BytesMut::with_capacity(capacity);
                grown.extend_from_slice(&joined);
                joined = grown;
            }
            joined.extend_from_slice(&data);
        }
        Ok((joined.freeze(), held))
    };
    // A body that has arrived already (most do) needs no timer.
    let mut read = std::pin::pin!(read);
    match (&mut read).now_or_never() {
        Some(read) => read,
        None => tokio::time::timeout(limits.body_timeout, read)
            .await
            .map_err(|_| {
                problem(
                    StatusCode::REQUEST_TIMEOUT,
                    &format!(
                        "The request body did not arrive within {}",
                        seconds(limits.body_timeout)
                    ),
                )
            })?,
    }
}

/// What a caller is told when no answer came within the request timeout.
pub(super) fn timed_out(timeout: Duration) -> String {
    format!(
        "The service did not answer within {}; the request may or may not have taken effect",
        seconds(timeout)
    )
}

/// `30 s`, `1.5 s`: a timeout as a message shows it.
fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

fn is_json(content_type: &HeaderValue) -> bool {
    let Ok(content_type) = content_type.to_str() else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/event-stream"))
}

/// The fallback of a path whose methods do not include the request's.
pub(crate) fn method_not_allowed(
    allowed: Vec<HttpMethod>,
) -> impl Fn(Request) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    let mut names: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
    // axum answers HEAD through a GET handler.
    if allowed.contains(&HttpMethod::Get) {
        names.push("HEAD");
    }
    let allow = names.join(", ");
    move |request: Request| {
        let detail = format!(
            "Method {} is not allowed on {}; allowed: {allow}",
            request.method(),
            request.uri().path()
        );
        let mut response = problem_response(StatusCode::METHOD_NOT_ALLOWED, &detail);
        if let Ok(value) = HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        std::future::ready(response)
    }
}

/// The router's fallback: a path that matches a route but for an empty parameter is a 400 naming
/// it; anything else is a 404.
pub(crate) fn not_found(
    table: Arc<RouteTable>,
) -> impl Fn(Request) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move |request: Request| {
        let path = request.uri().path();
        let missing = table.entries().iter().find_map(|entry| {
            let name = entry.template.missing_param(path)?;
            let type_name = entry
                .bound
                .handler
                .route()
                .and_then(|route| route.params.iter().find(|(param, _)| *param == name))
                .map_or("text", |(_, type_name)| type_name);
            Some(crate::invocation::missing_path_param(name, type_name))
        });
        let response = match missing {
            Some(detail) => problem_response(StatusCode::BAD_REQUEST, &detail),
            None => no_route(path),
        };
        std::future::ready(response.into_response())
    }
}
