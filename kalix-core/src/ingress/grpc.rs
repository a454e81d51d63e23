//! gRPC in: requests whose `content-type` is `application/grpc`, on the HTTP port.
//!
//! Each `.proto` method a handler implements is a route of its own router. A request passes the
//! route's access checks, its body is read under the limits of HTTP bodies, and tonic's server
//! machinery (framing, compression, status trailers) runs it with a codec that passes messages
//! through as bytes: the method's generated `decode` turns the request into the JSON handlers
//! read, and `encode` the JSON reply into the reply message. Errors become statuses by one table
//! (`crate::grpc::status_code`); a path no method has is `UNIMPLEMENTED`. The reflection
//! services (`v1`, `v1alpha`) answer from the descriptor sets the crates registered, and the
//! health service reports `SERVING` while the service runs.

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
use tracing::Instrument;

use super::guard::Guard;
use super::metrics::RouteMetrics;
use super::request::{RequestLimits, forwarded_headers, read_bounded, seconds};
use crate::dispatch::{BoundHandler, Dispatcher};
use crate::grpc::status_code;
use crate::invocation::{Body, Invocation};
use crate::outcome::Outcome;
use crate::registry::MethodInfo;
use crate::telemetry::trace_context;

/// Whether a request is gRPC: its content type is `application/grpc` (or `application/grpc+..`).
pub(crate) fn is_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

/// The router of gRPC requests: every method a handler implements, reflection and health.
pub(crate) fn router(
    dispatcher: &Arc<Dispatcher>,
    limits: &RequestLimits,
    access: &Arc<super::AccessPolicy>,
) -> Router {
    let mut router = Router::new();
    for bound in dispatcher.handlers() {
        let Some(method) = bound.handler.grpc() else {
            continue;
        };
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
    router = with_reflection(router);
    let (health, health_service) = tonic_health::server::health_reporter();
    // Every request to this router is served by a running service; nothing registers per
    // service name, so the overall status ("") is what clients ask.
    drop(health);
    router = router.route_service(
        "/grpc.health.v1.Health/{method}",
        tower::util::MapResponse::new(health_service, |response: http::Response<_>| {
            response.map(axum::body::Body::new)
        }),
    );
    router.fallback(|request: Request| async move {
        Status::unimplemented(format!(
            "this service has no gRPC method {}",
            request.uri().path()
        ))
        .into_http::<axum::body::Body>()
    })
}

/// The reflection services, if any crate registered `.proto` descriptors.
fn with_reflection(router: Router) -> Router {
    let sets: Vec<&'static [u8]> = crate::grpc::descriptor_sets().collect();
    if sets.is_empty() {
        return router;
    }
    let mut v1 = tonic_reflection::server::Builder::configure();
    let mut v1alpha = tonic_reflection::server::Builder::configure();
    for set in &sets {
        v1 = v1.register_encoded_file_descriptor_set(set);
        v1alpha = v1alpha.register_encoded_file_descriptor_set(set);
    }
    let to_axum = |response: http::Response<tonic::body::Body>| response.map(axum::body::Body::new);
    let mut router = router;
    match v1.build_v1() {
        Ok(service) => {
            router = router.route_service(
                "/grpc.reflection.v1.ServerReflection/{method}",
                tower::util::MapResponse::new(service, to_axum),
            );
        }
        Err(error) => tracing::warn!(%error, "the gRPC reflection service (v1) is not served"),
    }
    match v1alpha.build_v1alpha() {
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
        // The HTTP status an error of this call corresponds to, for the duration metric.
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
            let code = status_code(status.load(Ordering::Relaxed));
            let code = if status.load(Ordering::Relaxed) == 200 {
                Code::Ok
            } else {
                code
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
            Err(refused) => return refused_status(*refused, status).await,
        };
        let (bytes, _held) = match read_bounded(&parts.headers, body, &self.limits).await {
            Ok(read) => read,
            Err(refused) => return refused_status(*refused, status).await,
        };
        // Compressed messages are not accepted (tonic answers UNIMPLEMENTED for them).
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
        response.map(axum::body::Body::new)
    }

    /// Runs the handler on one request message; the reply (or the stream of replies) as bytes.
    async fn run(
        &self,
        request: tonic::Request<Bytes>,
        caller: Option<(crate::access::Principals, crate::access::JwtClaims)>,
        status: &AtomicU16,
    ) -> Result<Outcome, Status> {
        let (metadata, _, message) = request.into_parts();
        let json = (self.method.decode)(&message).map_err(|error| {
            status.store(400, Ordering::Relaxed);
            Status::invalid_argument(format!(
                "The request of {} is not valid: {error}",
                self.method.path
            ))
        })?;
        let headers = metadata.into_headers();
        let mut invocation = Invocation::new(
            Vec::new(),
            Vec::new(),
            Body::Value(Arc::new(json)),
            forwarded_headers(&headers, self.bound.component.forward_headers),
        );
        if let Some(caller) = caller {
            invocation.set_caller(caller);
        }
        trace_context::inject_current(invocation.metadata_mut());
        let mut run = std::pin::pin!(self.dispatcher.invoke(&self.bound, invocation));
        let outcome = match (&mut run).now_or_never() {
            Some(outcome) => outcome,
            None => tokio::time::timeout(self.limits.request_timeout, run)
                .await
                .map_err(|_| {
                    status.store(503, Ordering::Relaxed);
                    Status::unavailable(format!(
                        "The service did not answer within {}; the request may or may not have taken effect",
                        seconds(self.limits.request_timeout)
                    ))
                })?,
        };
        if let Outcome::Error(error) = &outcome {
            status.store(error.status(), Ordering::Relaxed);
            return Err(Status::new(
                status_code(error.status()),
                error.description().to_owned(),
            ));
        }
        Ok(outcome)
    }

    /// A reply (JSON) as the method's reply message.
    fn encode(&self, json: &[u8], status: &AtomicU16) -> Result<Bytes, Status> {
        (self.method.encode)(json).map(Bytes::from).map_err(|error| {
            status.store(500, Ordering::Relaxed);
            tracing::error!(method = self.method.path, %error, "a reply is not the method's reply message");
            Status::internal(format!("the reply is not a message of {}", self.method.path))
        })
    }
}

/// A response of the checks or the body's limits (a problem body) as a gRPC status.
async fn refused_status(response: Response, status: &AtomicU16) -> Response {
    let code = response.status().as_u16();
    status.store(code, Ordering::Relaxed);
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let detail = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|problem| problem.get("detail")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    Status::new(status_code(code), detail)
        .into_http::<axum::body::Body>()
        .into_response()
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
            match endpoint.run(request, caller, status).await? {
                Outcome::Reply { body, .. } => {
                    endpoint.encode(&body, status).map(tonic::Response::new)
                }
                // No reply: the reply message with every field at its default.
                Outcome::Ignore => endpoint.encode(b"{}", status).map(tonic::Response::new),
                Outcome::Stream(_) | Outcome::Error(_) => {
                    status.store(500, Ordering::Relaxed);
                    Err(Status::internal(
                        "the handler answered a unary method with a stream",
                    ))
                }
            }
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
            let encode = endpoint.method.encode;
            let path = endpoint.method.path;
            let replies = match endpoint.run(request, caller, status).await? {
                Outcome::Stream(replies) => replies,
                Outcome::Reply { body, .. } => {
                    futures_util::stream::once(async move { Ok(body) }).boxed()
                }
                Outcome::Ignore => futures_util::stream::empty().boxed(),
                Outcome::Error(_) => unreachable!("run answers an error as a status"),
            };
            let messages = replies.map(move |reply| match reply {
                Ok(json) => encode(&json).map(Bytes::from).map_err(|error| {
                    tracing::error!(method = path, %error, "a streamed reply is not the method's reply message");
                    Status::internal(format!("a reply is not a message of {path}"))
                }),
                Err(error) => Err(Status::new(
                    status_code(error.status()),
                    error.description().to_owned(),
                )),
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
