//! gRPC in: requests whose `content-type` is `application/grpc`, on the HTTP port.
//!
//! Each `.proto` method a handler implements is a route of its own router. A request passes the
//! route's access checks, its body is read under the limits of HTTP bodies, and tonic's server
//! machinery (framing, compression, status trailers) runs it with a codec that passes messages
//! through as bytes: the method's generated `decode` turns the request into the JSON handlers
//! read, and `encode` the JSON reply into the reply message. Errors become statuses by one table
//! (`crate::grpc::status_code`); a path no method has is `UNIMPLEMENTED`. The reflection
//! services (`v1`, `v1alpha`) answer from the descriptor sets the crates registered, and the
//! health service reports `SERVING` while the service runs, `NOT_SERVING` once it stops.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::{Buf, BufMut, Bytes};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use http::StatusCode;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, ServerStreamingService, UnaryService};
use tonic::{Code, Status};
use tonic_health::server::HealthReporter;
use tracing::Instrument;

use super::guard::Guard;
use super::metrics::RouteMetrics;
use super::problem::ProblemDetail;
use super::request::{
    REQUEST_TIMED_OUT, RequestLimits, forwarded_headers, read_bounded, timed_out,
};
use crate::dispatch::{BoundHandler, Dispatcher};
use crate::error::{CallError, StartError};
use crate::grpc::status::http_status;
use crate::grpc::status_code;
use crate::invocation::{Body, Invocation};
use crate::outcome::Outcome;
use crate::registry::MethodInfo;
use crate::telemetry::trace_context;

/// Whether a request is gRPC: its content type is `application/grpc`, or that with a
/// `+format` or parameters (not gRPC-Web, which this server does not translate).
pub(crate) fn is_grpc<B>(request: &http::Request<B>) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| {
            let value = value.as_bytes();
            value.len() >= GRPC.len()
                && value[..GRPC.len()].eq_ignore_ascii_case(GRPC)
                && matches!(value.get(GRPC.len()), None | Some(b'+' | b';'))
        })
}

/// The router of gRPC requests: every method a handler implements, reflection and health;
/// with the reporter that turns health to `NOT_SERVING` when the service stops. Two handlers of
/// one method are refused.
pub(crate) fn router(
    dispatcher: &Arc<Dispatcher>,
    limits: &RequestLimits,
    access: &Arc<super::AccessPolicy>,
) -> Result<(Router, HealthReporter), StartError> {
    let mut router = Router::new();
    let mut served: HashMap<&'static str, &BoundHandler> = HashMap::new();
    let handlers = dispatcher.handlers();
    for &bound in &handlers {
        let Some(method) = bound.handler.grpc() else {
            continue;
        };
        if let Some(first) = served.insert(method.path, bound) {
            return Err(StartError::ConflictingRoutes(format!(
                "{} and {} both implement the gRPC method {}; one handler serves a method",
                first.target(),
                bound.target(),
                method.path
            )));
        }
        let endpoint = Arc::new(GrpcEndpoint {
            dispatcher: Arc::clone(dispatcher),
            bound: bound.clone(),
            method,
            limits: limits.clone(),
            guard: Guard::new(access, bound.component, bound.handler),
            metrics: RouteMetrics::new("POST", method.path.to_owned()),
        });
        router = router.route(
            method.path,
            axum::routing::post(move |request: Request| {
                let endpoint = Arc::clone(&endpoint);
                async move { endpoint.serve(request).await }
            }),
        );
    }
    let services: BTreeSet<&'static str> = served
        .values()
        .filter_map(|bound| bound.handler.grpc())
        .map(|m| m.service)
        .collect();
    router = with_reflection(router, &services);
    let (reporter, health) = tonic_health::server::health_reporter();
    router = router.route_service(
        "/grpc.health.v1.Health/{method}",
        tower::util::MapResponse::new(health, to_axum),
    );
    let router = router.fallback(|request: Request| async move {
        Status::unimplemented(format!(
            "this service has no gRPC method {}",
            request.uri().path()
        ))
        .into_http::<axum::body::Body>()
    });
    Ok((router, reporter))
}

fn to_axum(response: http::Response<tonic::body::Body>) -> http::Response<axum::body::Body> {
    response.map(axum::body::Body::new)
}

/// The names the reflection services list: the services served here, health and reflection
/// (not every service of the descriptor sets: a crate may compile a `.proto` only to call it).
const STANDARD_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// The reflection services, describing the services served from the descriptor sets the crates
/// registered and the health service's own.
fn with_reflection(router: Router, services: &BTreeSet<&'static str>) -> Router {
    let mut sets: Vec<&'static [u8]> = crate::grpc::descriptor_sets().collect();
    sets.push(tonic_health::pb::FILE_DESCRIPTOR_SET);
    let builder = || {
        let mut builder = tonic_reflection::server::Builder::configure();
        for set in &sets {
            builder = builder.register_encoded_file_descriptor_set(set);
        }
        for name in services.iter().copied().chain(STANDARD_SERVICES) {
            builder = builder.with_service_name(name);
        }
        builder
    };
    let mut router = router;
    match builder().build_v1() {
        Ok(service) => {
            router = router.route_service(
                "/grpc.reflection.v1.ServerReflection/{method}",
                tower::util::MapResponse::new(service, to_axum),
            );
        }
        Err(error) => tracing::warn!(%error, "the gRPC reflection service (v1) is not served"),
    }
    match builder().build_v1alpha() {
        Ok(service) => {
            router = router.route_service(
                "/grpc.reflection.v1alpha.ServerReflection/{method}",
                tower::util::MapResponse::new(service, to_axum),
            );
        }
        Err(error) => tracing::warn!(%error, "the gRPC reflection service (v1alpha) is not served"),
    }
    router
}

/// What serving one method needs.
struct GrpcEndpoint {
    dispatcher: Arc<Dispatcher>,
    bound: BoundHandler,
    method: &'static MethodInfo,
    limits: RequestLimits,
    guard: Guard,
    metrics: RouteMetrics,
}

impl GrpcEndpoint {
    async fn serve(&self, request: Request) -> Response {
        let started = quanta::Instant::now();
        let _active = self.metrics.start();
        // The HTTP status a failure of this call corresponds to, for the duration metric (a
        // stream's is that of its start, as over HTTP).
        let status = AtomicU16::new(200);
        let response = if trace_context::spans_on() {
            let span = tracing::debug_span!(
                "rpc.call",
                otel.name = self.method.path.trim_start_matches('/'),
                otel.kind = "server",
                rpc.system = "grpc",
                rpc.service = self.method.service,
                rpc.method = self.method.name,
                rpc.grpc.status_code = tracing::field::Empty,
            );
            trace_context::adopt_parent(&span, |key| {
                request.headers().get(key).and_then(|v| v.to_str().ok())
            });
            let response = self
                .respond(request, &status)
                .instrument(span.clone())
                .await;
            let code = match status.load(Ordering::Relaxed) {
                200 => Code::Ok,
                failed => status_code(failed),
            };
            span.record("rpc.grpc.status_code", code as i32);
            response
        } else {
            self.respond(request, &status).await
        };
        let recorded = StatusCode::from_u16(status.load(Ordering::Relaxed))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.metrics.record(recorded, started.elapsed());
        response
    }

    async fn respond(&self, request: Request, status: &AtomicU16) -> Response {
        let (mut parts, body) = request.into_parts();
        let caller = match self.guard.admit(&parts.headers, parts.uri.path()).await {
            Ok(caller) => caller,
            Err(refused) => return refused_status(*refused, status),
        };
        let (bytes, _held) = match read_bounded(&parts.headers, body, &self.limits).await {
            Ok(read) => read,
            Err(refused) => return refused_status(*refused, status),
        };
        if let Err(why) = one_message(&bytes) {
            return failed(status, &CallError::new(crate::ErrorCode::BAD_REQUEST, why));
        }
        parts.headers.remove(http::header::CONTENT_LENGTH);
        let request = http::Request::from_parts(parts, http_body_util::Full::new(bytes));
        let call = Call {
            endpoint: self,
            caller: Some(caller),
            status,
        };
        let mut grpc = Grpc::new(PassThrough)
            .apply_max_message_size_config(Some(self.limits.max_body_bytes), None);
        let response = if self.method.server_streaming {
            grpc.server_streaming(call, request).await
        } else {
            grpc.unary(call, request).await
        };
        // A status tonic answered itself (a compressed message it does not take, say) counts.
        if status.load(Ordering::Relaxed) == 200
            && let Some(code) = response.headers().get("grpc-status")
            && code.as_bytes() != b"0"
        {
            let code = Code::from_bytes(code.as_bytes());
            status.store(http_status(code), Ordering::Relaxed);
        }
        response.map(axum::body::Body::new)
    }

    /// Runs the handler on one request message: its reply (JSON), its stream of replies, or
    /// nothing; a failure as its status.
    async fn run(
        &self,
        request: tonic::Request<Bytes>,
        caller: Option<(crate::access::Principals, crate::access::JwtClaims)>,
        status: &AtomicU16,
    ) -> Result<Replies, Status> {
        let (metadata, _, message) = request.into_parts();
        let json = (self.method.decode)(&message).map_err(|error| {
            status.store(400, Ordering::Relaxed);
            Status::invalid_argument(format!(
                "The request of {} is not valid: {error}",
                self.method.path
            ))
        })?;
        let headers = metadata.into_headers();
        // The caller's deadline (`grpc-timeout`), when it is sooner than the service's own.
        let client_deadline = headers
            .get("grpc-timeout")
            .and_then(|value| grpc_timeout(value.as_bytes()))
            .filter(|deadline| *deadline < self.limits.request_timeout);
        let mut invocation = Invocation::new(
            Vec::new(),
            Vec::new(),
            Body::Value(Arc::new(json)),
            forwarded_headers(&headers, self.bound.component.forward_headers),
        )
        .sent_by_client();
        if let Some(caller) = caller {
            invocation.set_caller(caller);
        }
        trace_context::inject_current(invocation.metadata_mut());
        let mut run = std::pin::pin!(self.dispatcher.invoke(&self.bound, invocation));
        let outcome = match (&mut run).now_or_never() {
            Some(outcome) => outcome,
            None => match tokio::time::timeout(
                client_deadline.unwrap_or(self.limits.request_timeout),
                run,
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) if client_deadline.is_some() => {
                    status.store(504, Ordering::Relaxed);
                    return Err(Status::deadline_exceeded(
                        "The call's deadline (grpc-timeout) passed; it may or may not have taken effect",
                    ));
                }
                Err(_) => {
                    if let Some(left_out) = REQUEST_TIMED_OUT.admit() {
                        let target = self.bound.target();
                        tracing::warn!(%target, left_out, "no response within the request timeout");
                    }
                    let error = CallError::new(
                        crate::ErrorCode::SERVICE_UNAVAILABLE,
                        timed_out(self.limits.request_timeout),
                    );
                    status.store(error.status(), Ordering::Relaxed);
                    return Err(grpc_status(&error));
                }
            },
        };
        match outcome {
            Outcome::Reply { body, metadata, .. } => Ok(Replies::One(
                body,
                metadata.has(crate::idempotency::key::REPLAYED),
            )),
            Outcome::Stream(replies) => Ok(Replies::Many(replies)),
            Outcome::Ignore => Ok(Replies::Nothing),
            Outcome::Error(error) => {
                status.store(error.status(), Ordering::Relaxed);
                Err(grpc_status(&error))
            }
        }
    }
}

/// What a handler answered, as JSON.
enum Replies {
    /// One reply, and whether it is a kept reply answered again (an idempotency key's).
    One(Bytes, bool),
    Many(BoxStream<'static, Result<Bytes, CallError>>),
    Nothing,
}

/// A reply (JSON) as `method`'s reply message; a reply that is not one is a bug of the handler,
/// logged, and the caller's `INTERNAL`.
fn encode(method: &'static MethodInfo, json: &[u8]) -> Result<Bytes, Status> {
    (method.encode)(json).map(Bytes::from).map_err(|error| {
        tracing::error!(method = method.path, %error, "a reply is not the method's reply message");
        Status::internal(format!("a reply is not a message of {}", method.path))
    })
}

/// A failure as the gRPC status its HTTP status corresponds to, with its description.
fn grpc_status(error: &CallError) -> Status {
    let mut status = Status::new(status_code(error.status()), error.description().to_owned());
    if error.is_replayed() {
        mark_replayed(status.metadata_mut());
    }
    status
}

/// Marks a response as a kept reply answered again, as the HTTP header does.
fn mark_replayed(metadata: &mut tonic::metadata::MetadataMap) {
    metadata.insert(
        "idempotency-replayed",
        tonic::metadata::MetadataValue::from_static("true"),
    );
}

/// A failure answered before tonic runs, as a trailers-only response.
fn failed(status: &AtomicU16, error: &CallError) -> Response {
    status.store(error.status(), Ordering::Relaxed);
    grpc_status(error)
        .into_http::<axum::body::Body>()
        .into_response()
}

/// A `grpc-timeout` value (`100m`: at most 8 digits and a unit of hours `H`, minutes `M`,
/// seconds `S`, milliseconds `m`, microseconds `u` or nanoseconds `n`); `None` if malformed.
fn grpc_timeout(value: &[u8]) -> Option<std::time::Duration> {
    let (unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let nanos_per_unit: u64 = match unit {
        b'H' => 3_600_000_000_000,
        b'M' => 60_000_000_000,
        b'S' => 1_000_000_000,
        b'm' => 1_000_000,
        b'u' => 1_000,
        b'n' => 1,
        _ => return None,
    };
    Some(std::time::Duration::from_nanos(
        amount.saturating_mul(nanos_per_unit),
    ))
}

/// `Ok` if `body` is one uncompressed or compressed gRPC message: a flag byte, its length in
/// four bytes, and that many bytes.
fn one_message(body: &[u8]) -> Result<(), String> {
    let Some((prefix, message)) = body.split_first_chunk::<5>() else {
        return Err("the request has no gRPC message (a 5-byte prefix and the message)".into());
    };
    let declared = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    if prefix[0] > 1 || declared != message.len() {
        return Err(format!(
            "the request is not one gRPC message: its prefix declares {declared} bytes, {} follow",
            message.len()
        ));
    }
    Ok(())
}

/// A response of the checks or the body's limits (a problem body) as a gRPC status.
fn refused_status(response: Response, status: &AtomicU16) -> Response {
    let detail = response
        .extensions()
        .get::<ProblemDetail>()
        .map(|detail| detail.0.clone())
        .unwrap_or_default();
    failed(
        status,
        &CallError::from_status(response.status().as_u16(), detail),
    )
}

/// One request being served: what tonic calls with the request message.
struct Call<'a> {
    endpoint: &'a GrpcEndpoint,
    caller: Option<(crate::access::Principals, crate::access::JwtClaims)>,
    status: &'a AtomicU16,
}

impl<'a> UnaryService<Bytes> for Call<'a> {
    type Response = Bytes;
    type Future = BoxFuture<'a, Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let (endpoint, caller, status) = (self.endpoint, self.caller.take(), self.status);
        Box::pin(async move {
            let method = endpoint.method;
            let (reply, replayed) = match endpoint.run(request, caller, status).await? {
                Replies::One(json, replayed) => (encode(method, &json), replayed),
                // No reply: the reply message with every field at its default.
                Replies::Nothing => (encode(method, b"{}"), false),
                Replies::Many(_) => (
                    Err(Status::internal(format!(
                        "the handler of the unary method {} answered with a stream",
                        method.path
                    ))),
                    false,
                ),
            };
            if reply.is_err() {
                status.store(500, Ordering::Relaxed);
            }
            reply.map(|message| {
                let mut response = tonic::Response::new(message);
                if replayed {
                    mark_replayed(response.metadata_mut());
                }
                response
            })
        })
    }
}

impl<'a> ServerStreamingService<Bytes> for Call<'a> {
    type Response = Bytes;
    type ResponseStream = BoxStream<'static, Result<Bytes, Status>>;
    type Future = BoxFuture<'a, Result<tonic::Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let (endpoint, caller, status) = (self.endpoint, self.caller.take(), self.status);
        Box::pin(async move {
            let method = endpoint.method;
            let replies = match endpoint.run(request, caller, status).await? {
                Replies::Many(replies) => replies,
                Replies::One(json, _) => {
                    futures_util::stream::once(async move { Ok(json) }).boxed()
                }
                Replies::Nothing => futures_util::stream::empty().boxed(),
            };
            let messages = replies.map(move |reply| match reply {
                Ok(json) => encode(method, &json),
                Err(error) => Err(grpc_status(&error)),
            });
            Ok(tonic::Response::new(messages.boxed()))
        })
    }
}

/// The codec of messages passed through as bytes: the method's generated functions convert them.
struct PassThrough;

impl Codec for PassThrough {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = PassThrough;
    type Decoder = PassThrough;

    fn encoder(&mut self) -> Self::Encoder {
        PassThrough
    }

    fn decoder(&mut self) -> Self::Decoder {
        PassThrough
    }
}

impl Encoder for PassThrough {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for PassThrough {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::grpc_timeout;

    #[test]
    fn grpc_timeouts_are_read_by_their_unit() {
        assert_eq!(grpc_timeout(b"100m"), Some(Duration::from_millis(100)));
        assert_eq!(grpc_timeout(b"2S"), Some(Duration::from_secs(2)));
        assert_eq!(grpc_timeout(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(grpc_timeout(b"5u"), Some(Duration::from_micros(5)));
        for malformed in [&b""[..], b"m", b"100", b"100x", b"123456789S", b"-1S"] {
            assert_eq!(grpc_timeout(malformed), None, "{malformed:?}");
        }
    }
}
