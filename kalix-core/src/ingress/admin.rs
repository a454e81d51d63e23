//! The admin listener: what operators use, on its own address (`KALIX_ADMIN_HOST`,
//! `KALIX_ADMIN_PORT`) and never through the service's port: `/metrics` (Prometheus text),
//! `/health/live`, `/health/ready`, `/openapi.json` (the service's API description), the
//! admin API under `/admin/` (`admin_api/`), and the developer console at `/` (`console/`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};
use serde_json::json;

use super::problem::{no_route, problem_response};
use crate::store::Store;

/// How long the store may take to answer a readiness probe.
const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the service is in its life, as readiness reports it.
pub(crate) struct Health {
    store: Arc<dyn Store>,
    phase: AtomicU8,
}

const STARTING: u8 = 0;
const RUNNING: u8 = 1;
const STOPPING: u8 = 2;

impl Health {
    /// A service starting on `store`.
    pub(crate) fn new(store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            store,
            phase: AtomicU8::new(STARTING),
        })
    }

    /// The drivers run: ready once the store answers.
    pub(crate) fn running(&self) {
        let _ = self
            .phase
            .compare_exchange(STARTING, RUNNING, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The service is stopping: never ready again.
    pub(crate) fn stopping(&self) {
        self.phase.store(STOPPING, Ordering::Release);
    }
}

/// The admin router; `/openapi.json` serves `api_description`, `/admin/..` the admin API.
/// With `loopback_only` (the listener is bound to a loopback address, as by default), the
/// admin API and the console answer only requests whose `Host` names the loopback: a page
/// whose own name was made to resolve to 127.0.0.1 (DNS rebinding) is refused.
pub(crate) fn router(
    health: Arc<Health>,
    api_description: serde_json::Value,
    api: Arc<super::admin_api::AdminApi>,
    loopback_only: bool,
) -> Router {
    let api_description = bytes::Bytes::from(api_description.to_string());
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let body = api_description.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .route(
            "/",
            get(|| console(CONSOLE_HTML, "text/html; charset=utf-8")),
        )
        .route(
            "/console.js",
            get(|| console(CONSOLE_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/console.css",
            get(|| console(CONSOLE_CSS, "text/css; charset=utf-8")),
        )
        .route("/metrics", get(metrics))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(health)
        .merge(super::admin_api::routes(api))
        .fallback(|uri: http::Uri| async move { no_route(uri.path()) })
        .method_not_allowed_fallback(|method: http::Method, uri: http::Uri| async move {
            problem_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{} does not answer {method}", uri.path()),
            )
        })
        .layer(axum::middleware::from_fn(move |request, next| {
            loopback_guard(loopback_only, request, next)
        }))
}

/// Refuses a request for the admin API or the console whose `Host` is not the loopback, when
/// the listener is bound to it. Health and metrics stay open to any `Host` (probes and scrapers
/// name the address they dial).
async fn loopback_guard(
    loopback_only: bool,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let guarded = path == "/" || path.starts_with("/admin") || path.starts_with("/console.");
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().host());
    if loopback_only && guarded && !host.is_some_and(super::admin_api::is_loopback_host) {
        return problem_response(
            StatusCode::FORBIDDEN,
            "the admin listener is bound to the loopback: the admin API and the console answer \
             requests for localhost, 127.0.0.1 or [::1] only",
        );
    }
    next.run(request).await
}

/// The developer console, built into the binary: a page over the admin API, no build step.
const CONSOLE_HTML: &str = include_str!("console/index.html");
const CONSOLE_JS: &str = include_str!("console/console.js");
const CONSOLE_CSS: &str = include_str!("console/console.css");

/// One of the console's files. Its scripts come only from this listener, and no other site
/// may frame it.
async fn console(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; frame-ancestors 'none'",
            ),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn metrics() -> Response {
    match crate::telemetry::render() {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => problem_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "another metrics recorder was installed in this process before the service started; \
             the runtime's metrics go to it",
        ),
    }
}

async fn live() -> Response {
    axum::Json(json!({"status": "live"})).into_response()
}

async fn ready(State(health): State<Arc<Health>>) -> Response {
    let unready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unready", "reason": reason})),
        )
            .into_response()
    };
    match health.phase.load(Ordering::Acquire) {
        STARTING => return unready("the service is starting".to_owned()),
        STOPPING => return unready("the service is stopping".to_owned()),
        _ => {}
    }
    match tokio::time::timeout(STORE_PROBE_TIMEOUT, health.store.ping()).await {
        Ok(Ok(())) => axum::Json(json!({"status": "ready"})).into_response(),
        Ok(Err(error)) => unready(format!("the store cannot be reached: {error}")),
        Err(_) => unready(format!(
            "the store did not answer within {}s",
            STORE_PROBE_TIMEOUT.as_secs()
        )),
    }
}

/// Folds the metrics' queued histogram samples into their buckets every
/// [`UPKEEP_EVERY`](crate::telemetry::UPKEEP_EVERY), so they take bounded memory between scrapes.
pub(crate) struct MetricsUpkeep;

impl crate::background::BackgroundDriver for MetricsUpkeep {
    fn name(&self) -> &'static str {
        "metrics upkeep"
    }

    fn run(
        self: Box<Self>,
        _dispatcher: Arc<crate::dispatch::Dispatcher>,
        mut stopping: tokio::sync::watch::Receiver<bool>,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(crate::telemetry::UPKEEP_EVERY) => {}
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
                crate::telemetry::upkeep();
            }
        })
    }
}
