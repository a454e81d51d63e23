//! The HTTP server: accepts connections and serves the router on each, over HTTP/1.1 or HTTP/2
//! cleartext (by prior knowledge), within bounds no client can push past:
//!
//! - at most `max_connections` open at once; past that, new ones wait in the listen backlog;
//! - an HTTP/1 connection must deliver a request's headers within `header_timeout` of becoming
//!   idle, so idle keep-alives, slowloris clients and half-sent headers are closed;
//! - a connection must send its first bytes within `header_timeout` too, and an HTTP/2
//!   connection with no request in flight (response bodies included) for that long is closed;
//! - headers and the per-connection read buffer are bounded (64 KiB), HTTP/2 streams per
//!   connection too, and dead HTTP/2 peers are found by pings;
//! - running out of file descriptors pauses accepting briefly instead of spinning, and is logged
//!   once per interval.
//!
//! Request bodies are bounded where they are read (`request.rs`), and every response says
//! `X-Content-Type-Options: nosniff`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::Response;
use http::{HeaderValue, Request, StatusCode, Version, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use super::problem::problem_response;
use crate::log_limit::LogLimit;

/// What bounds the connections a client can open and hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// The most bytes of headers, and of unparsed input, one connection buffers.
const MAX_BUFFERED_PER_CONNECTION: usize = 64 * 1024;

/// HTTP/2 streams one connection may have open at once.
const MAX_STREAMS_PER_CONNECTION: u32 = 128;

/// How often an idle HTTP/2 connection is pinged, and how long the answer may take.
const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// How long accepting pauses after an error such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

static ACCEPT_FAILED: LogLimit = LogLimit::per(Duration::from_secs(10));

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits for
/// the open connections to finish their requests. Dropping the returned future (as a stop whose
/// grace period ran out does) closes every connection.
pub(crate) async fn serve(
    listener: TcpListener,
    router: super::Routers,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(connection_builder(limits));
    let open = Arc::new(Semaphore::new(limits.max_connections));
    // `true` once shutdown starts; each connection holds a receiver until it is done, and all
    // of them close at once if this future is dropped with the sender.
    let (stopping, stopping_seen) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&open).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            builder: Arc::clone(&builder),
            router: router.clone(),
            header_timeout: limits.header_timeout,
            stopping: stopping_seen.clone(),
        };
        let counted = super::metrics::OpenConnection::open();
        tokio::spawn(async move {
            connection.serve(stream).await;
            drop(counted);
            drop(permit);
        });
    }
    drop(listener);
    drop(stopping_seen);
    let _ = stopping.send(true);
    // Every connection has finished its requests once it has dropped its receiver.
    stopping.closed().await;
}

/// One accepted connection and what serving it needs.
struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    router: super::Routers,
    header_timeout: Duration,
    stopping: watch::Receiver<bool>,
}

impl Connection {
    async fn serve(mut self, stream: TcpStream) {
        let protocol = tokio::select! {
            protocol = protocol_within(&stream, self.header_timeout) => protocol,
            _ = self.stopping.wait_for(|stopping| *stopping) => None,
        };
        let Some(protocol) = protocol else { return };
        // HTTP/2 has no header timeout: an HTTP/2 connection with nothing in flight for the
        // header timeout is shut down instead. (HTTP/1's idle connections hyper closes itself.)
        let activity = (protocol == Protocol::Http2).then(|| Arc::new(Activity::new()));
        let router = self.router;
        let tracked = activity.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            // Counted when hyper hands the request over, before its handler is polled.
            let in_flight = tracked.clone().map(InFlight::start);
            handle(router.clone(), request, in_flight)
        });
        let connection = self
            .builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let mut connection = std::pin::pin!(connection);
        let mut stopping = self.stopping;
        let at_stop = activity.clone();
        let mut idle = std::pin::pin!(idle_for(activity, self.header_timeout));
        let mut shutting_down = false;
        // An idle connection's graceful close waits for the peer (HTTP/2 pings it once more);
        // a peer that does not answer is cut off after another header timeout.
        let mut cut_off = std::pin::pin!(tokio::time::sleep(Duration::MAX));
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    // A connection ending in an error (a timeout, a reset, bad framing) is the
                    // client's.
                    if let Err(error) = served {
                        tracing::debug!(%error, "connection closed with an error");
                    }
                    return;
                }
                // Idle, or the service is stopping: finish what is in flight and close (an
                // HTTP/2 GOAWAY tells the client which requests were not taken, so it may
                // send them again elsewhere).
                () = &mut idle, if !shutting_down => {
                    connection.as_mut().graceful_shutdown();
                    shutting_down = true;
                    cut_off
                        .as_mut()
                        .reset(tokio::time::Instant::now() + self.header_timeout);
                }
                () = &mut cut_off => return,
                changed = stopping.changed() => match changed {
                    Ok(()) if *stopping.borrow() && !shutting_down => {
                        connection.as_mut().graceful_shutdown();
                        shutting_down = true;
                        // An idle HTTP/2 peer that does not answer the last ping does not hold
                        // the stop up for longer than a header timeout.
                        if at_stop.as_ref().is_some_and(|activity| activity.idle_for().is_some()) {
                            cut_off
                                .as_mut()
                                .reset(tokio::time::Instant::now() + self.header_timeout);
                        }
                    }
                    Ok(()) => {}
                    // The server's future was dropped: close without waiting.
                    Err(_) => return,
                },
            }
        }
    }
}

/// Requests in flight on a connection (until their response bodies end), and when one last
/// started or ended.
struct Activity {
    in_flight: AtomicUsize,
    since: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            since: Mutex::new(Instant::now()),
        }
    }

    fn touch(&self) {
        *self.since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// How long nothing has been in flight, or `None` while something is.
    fn idle_for(&self) -> Option<Duration> {
        (self.in_flight.load(Ordering::Acquire) == 0).then(|| {
            self.since
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .elapsed()
        })
    }
}

/// Holds a request in flight until dropped (with the response body, once it is sent).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.touch();
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Completes once the connection has had nothing in flight for `timeout`; never without
/// `activity`.
async fn idle_for(activity: Option<Arc<Activity>>, timeout: Duration) {
    let Some(activity) = activity else {
        return std::future::pending().await;
    };
    let period = (timeout / 4).max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(period).await;
        if activity.idle_for().is_some_and(|idle| idle >= timeout) {
            return;
        }
    }
}

/// A response body that keeps its request in flight until it is dropped.
struct TrackedBody {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The protocol a connection speaks, told by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

/// Waits up to `timeout` for the client to send enough to tell HTTP/1 from HTTP/2 by; `None`
/// if it does not, or closes. (The auto builder reads this first, with no timeout of its own:
/// a connection that sends nothing would otherwise stay open.)
async fn protocol_within(stream: &TcpStream, timeout: Duration) -> Option<Protocol> {
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let known = async {
        let mut start = [0u8; H2_PREFACE.len()];
        loop {
            match stream.peek(&mut start).await {
                Ok(0) | Err(_) => return None,
                Ok(n) if start[..n] != H2_PREFACE[..n] => return Some(Protocol::Http1),
                Ok(n) if n == start.len() => return Some(Protocol::Http2),
                // Part of the HTTP/2 preface: peek would return at once, so wait a little.
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    };
    tokio::time::timeout(timeout, known).await.ok().flatten()
}

fn connection_builder(limits: ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_BUFFERED_PER_CONNECTION);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .max_header_list_size(MAX_BUFFERED_PER_CONNECTION as u32)
        .keep_alive_interval(H2_KEEP_ALIVE)
        .keep_alive_timeout(H2_KEEP_ALIVE);
    builder
}

/// Runs one request through the router, after the checks that apply to every request.
async fn handle(
    router: super::Routers,
    request: Request<Incoming>,
    in_flight: Option<InFlight>,
) -> Result<Response, Infallible> {
    let grpc = super::grpc::is_grpc(&request);
    let refused = malformed(&request).or_else(|| grpc_over_http1(&request, grpc));
    let mut response = match refused {
        Some(problem) => problem,
        None => {
            let router = match router.grpc {
                Some(grpc_router) if grpc => grpc_router,
                _ => router.http,
            };
            let request = request.map(axum::body::Body::new);
            match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    };
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(in_flight) = in_flight {
        let response = response.map(|body| {
            axum::body::Body::new(TrackedBody {
                body,
                _in_flight: in_flight,
            })
        });
        return Ok(response);
    }
    Ok(response)
}

/// A 400 for a request HTTP itself forbids: an HTTP/1.1 request needs exactly one `Host`
/// (RFC 9112, section 3.2).
fn malformed<B>(request: &Request<B>) -> Option<Response> {
    if request.version() == Version::HTTP_11 {
        let hosts = request.headers().get_all(header::HOST).iter().count();
        if hosts != 1 {
            let detail =
                format!("An HTTP/1.1 request needs exactly one Host header; this one has {hosts}");
            return Some(problem_response(StatusCode::BAD_REQUEST, &detail));
        }
    }
    None
}

/// A 505 for a gRPC request over HTTP/1.1: gRPC's status travels in trailers, which an HTTP/1.1
/// response cannot carry.
fn grpc_over_http1<B>(request: &Request<B>, grpc: bool) -> Option<Response> {
    (grpc && request.version() < Version::HTTP_2).then(|| {
        problem_response(
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            "gRPC needs HTTP/2 (this request came over HTTP/1.1)",
        )
    })
}

/// After a failed accept: errors of one connection (reset before it was accepted) are skipped;
/// others (no file descriptors left) pause accepting briefly, logged once per interval.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    if let Some(left_out) = ACCEPT_FAILED.admit() {
        tracing::error!(
            %error,
            left_out,
            "accepting connections failed; pausing {ACCEPT_BACKOFF:?} (out of file descriptors? \
             lower KALIX_HTTP_MAX_CONNECTIONS or raise `ulimit -n`)"
        );
    }
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}
