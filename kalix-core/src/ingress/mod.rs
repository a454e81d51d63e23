//! HTTP ingress: an axum router built from the registered routes. It turns requests into
//! [`Invocation`](crate::invocation::Invocation)s for the dispatcher, and outcomes into responses;
//! bad requests are rejected here with a 4xx problem body.

mod admin;
mod admin_api;
mod bearer_keys;
mod grpc;
mod guard;
mod metrics;
mod problem;
mod request;
mod response;
mod routes;
mod server;
mod streams;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::dispatch::{BoundHandler, Dispatcher};
use crate::error::StartError;
use crate::registry::{HttpMethod, PublishTarget};
use crate::store::Store;

use crate::config::Config;
pub(crate) use admin::router as admin_router;
pub(crate) use admin::{Health, MetricsUpkeep};
pub(crate) use admin_api::AdminApi;
pub(crate) use bearer_keys::{BearerKeys, JwksRefresher};
pub(crate) use guard::AccessPolicy;
use request::{BodyBudget, RequestLimits};
pub(crate) use routes::RouteTemplate;
pub(crate) use server::{ConnectionLimits, serve};

/// The routers of the service's port: HTTP, and gRPC for requests of that content type.
#[derive(Clone)]
pub(crate) struct Routers {
    pub http: Router,
    /// For requests of content type `application/grpc` (none on the admin listener).
    pub grpc: Option<Router>,
}

/// Builds the routers serving every handler that has a route or implements a `.proto` method,
/// and the reporter of the gRPC health service (which every service answers).
pub(crate) fn routers(
    dispatcher: Arc<Dispatcher>,
    config: &Config,
    store: Arc<dyn Store>,
    news: Arc<crate::news::KeyedNews>,
    access: &Arc<AccessPolicy>,
) -> Result<(Routers, tonic_health::server::HealthReporter), StartError> {
    let limits = request_limits(config);
    let (grpc, health) = grpc::router(&dispatcher, &limits, access)?;
    let http = router(dispatcher, limits, store, news, access)?;
    Ok((
        Routers {
            http,
            grpc: Some(grpc),
        },
        health,
    ))
}

fn request_limits(config: &Config) -> RequestLimits {
    RequestLimits {
        max_body_bytes: config.max_body_bytes,
        body_timeout: config.body_timeout,
        request_timeout: config.request_timeout,
        budget: BodyBudget::new(config.max_buffered_body_bytes),
    }
}

/// Builds the router serving every handler that has a route.
fn router(
    dispatcher: Arc<Dispatcher>,
    limits: RequestLimits,
    store: Arc<dyn Store>,
    news: Arc<crate::news::KeyedNews>,
    access: &Arc<AccessPolicy>,
) -> Result<Router, StartError> {
    let table = routes::RouteTable::build(&dispatcher.handlers())?;
    if let Some(entry) = table
        .entries()
        .iter()
        .find(|entry| entry.template.axum_path().starts_with("/_kalix/"))
    {
        return Err(StartError::ConflictingRoutes(format!(
            "{} routes a path under /_kalix/, which the runtime keeps for its own use (streams to other services); choose another path",
            entry.bound.target()
        )));
    }
    let streams: Vec<(&'static str, guard::Guard)> = dispatcher
        .handlers()
        .iter()
        .filter_map(|bound| match bound.handler.publish {
            Some(PublishTarget::Stream(id)) => Some((
                id,
                guard::Guard::new(access, bound.component, bound.handler),
            )),
            _ => None,
        })
        .collect();
    let mut by_path: BTreeMap<String, (MethodRouter, Vec<HttpMethod>)> = BTreeMap::new();
    for entry in table.entries() {
        let endpoint = request::endpoint(
            Arc::clone(&dispatcher),
            entry.bound.clone(),
            entry.template.clone(),
            limits.clone(),
            guard::Guard::new(access, entry.bound.component, entry.bound.handler),
            metrics::RouteMetrics::new(entry.method.as_str(), entry.template.as_written()),
        );
        let (methods, allowed) = by_path
            .entry(entry.template.axum_path())
            .or_insert_with(|| (MethodRouter::new(), Vec::new()));
        *methods = std::mem::take(methods).merge(on(method_filter(entry.method), endpoint));
        allowed.push(entry.method);
    }
    let mut router = Router::new();
    for (path, (methods, allowed)) in by_path {
        router = router.route(
            &path,
            methods.fallback(request::method_not_allowed(allowed)),
        );
    }
    if !streams.is_empty() {
        router = router.merge(streams::route(store, streams, news));
    }
    Ok(router.fallback(request::not_found(Arc::new(table))))
}

fn method_filter(method: HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Delete => MethodFilter::DELETE,
    }
}

/// A routed handler, with its parsed template.
pub(crate) struct RouteEntry {
    pub method: HttpMethod,
    pub template: Arc<RouteTemplate>,
    pub bound: BoundHandler,
}
