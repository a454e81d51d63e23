//! The admin API (JSON, on the admin listener under `/admin/`): what runs in the service and
//! what it keeps. Components and their routes, subscriptions and topics (`components.rs`); an
//! entity type's recently changed ids, an entity's state, an event-sourced entity's events
//! (`entities.rs`); pending timers (`timers.rs`); a workflow's record, and suspending, resuming
//! or terminating it (`workflows.rs`); consumers, views and their rebuild, dead letters and
//! their redelivery (`consumers.rs`); a call through the service's router (`call.rs`). Here:
//! the routes, and what every route shares (bounded parameters, problem bodies, store reads
//! with a deadline, the guard on `POST`s).
//!
//! Every list is bounded (`limit`, at most [`MAX_LIMIT`]) and every store read times out
//! ([`STORE_TIMEOUT`]); bad input gets a problem+json 400, an unknown type or id a 404.
//! Workflow actions run as commands of the workflow, one at a time with its other commands,
//! durable before the reply, and are logged.

mod call;
mod components;
mod consumers;
mod entities;
mod timers;
mod workflows;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use serde_json::Value;

use super::problem::problem_response;
use crate::dispatch::Dispatcher;
use crate::registry::ComponentDescriptor;
use crate::store::{Store, StoreError};

/// The most items one request lists.
pub(crate) const MAX_LIMIT: usize = 1000;
/// How many items a list has when `limit` is not given.
const DEFAULT_LIMIT: usize = 100;
/// How long a store read may take before the request gets a 503.
const STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the admin API reads and calls.
pub(crate) struct AdminApi {
    pub components: Vec<&'static ComponentDescriptor>,
    pub store: Arc<dyn Store>,
    pub dispatcher: Arc<Dispatcher>,
    /// The service's own router: `POST /admin/call` sends a request through it, as if it came
    /// to the service's port (the console's call forms; the browser cannot call another port).
    pub service: Router,
    /// Where a view rebuild is asked for, and what wakes the updaters to carry it out.
    pub view_rebuilds: Arc<crate::view::rebuild::ViewRebuilds>,
    pub view_news: Arc<tokio::sync::Notify>,
}

type Api = State<Arc<AdminApi>>;
type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

/// The header a `POST` to the admin API carries: a page of another site cannot send it without
/// a CORS preflight, which this listener never grants, so a site open in an operator's browser
/// cannot suspend a workflow behind their back.
pub(crate) const ADMIN_HEADER: &str = "x-kalix-admin";

/// Whether `host` (a `Host` header's value) names this machine's loopback: `localhost`,
/// `127.0.0.1` or `[::1]`, with any port.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "::1"
}

/// Refuses a `POST` without [`ADMIN_HEADER`].
fn from_operator(headers: &http::HeaderMap) -> Result<(), Refused> {
    if headers.contains_key(ADMIN_HEADER) {
        Ok(())
    } else {
        Err(problem(
            StatusCode::FORBIDDEN,
            "a POST to the admin API carries the header X-Kalix-Admin (any value): it keeps \
             other sites' pages from making such requests",
        ))
    }
}

/// The admin API's routes.
pub(crate) fn routes(api: Arc<AdminApi>) -> Router {
    Router::new()
        .route("/admin/components", get(components::components))
        .route("/admin/entities/{type_id}", get(entities::recent_entities))
        .route("/admin/entities/{type_id}/{id}", get(entities::entity))
        .route(
            "/admin/entities/{type_id}/{id}/events",
            get(entities::events),
        )
        .route("/admin/timers", get(timers::timers))
        .route("/admin/workflows/{type_id}/{id}", get(workflows::workflow))
        .route(
            "/admin/workflows/{type_id}/{id}/{action}",
            post(workflows::administer),
        )
        .route("/admin/call", post(call::call_route))
        .route("/admin/consumers", get(consumers::consumers))
        .route("/admin/views", get(consumers::views))
        .route(
            "/admin/views/{table}/rebuild",
            post(consumers::rebuild_view),
        )
        .route(
            "/admin/topics/{topic}/dead-letters",
            get(consumers::dead_letters),
        )
        .route(
            "/admin/topics/{topic}/dead-letters/{message_id}/redeliver",
            post(consumers::redeliver),
        )
        .with_state(api)
}

/// A refused request: answered with a problem body, as every error of the admin API is.
struct Refused {
    status: StatusCode,
    detail: String,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        problem_response(self.status, &self.detail)
    }
}

fn problem(status: StatusCode, detail: impl Into<String>) -> Refused {
    Refused {
        status,
        detail: detail.into(),
    }
}

fn bad_request(detail: impl Into<String>) -> Refused {
    problem(StatusCode::BAD_REQUEST, detail)
}

fn not_found(detail: impl Into<String>) -> Refused {
    problem(StatusCode::NOT_FOUND, detail)
}

/// A store read within [`STORE_TIMEOUT`]; its failure is a 503.
async fn read<T>(
    read: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, Refused> {
    match tokio::time::timeout(STORE_TIMEOUT, read).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store failed: {error}"),
        )),
        Err(_) => Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the store did not answer within {} s",
                STORE_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// The query parameters, or the 400 that says why they do not read.
fn params(query: Params) -> Result<HashMap<String, String>, Refused> {
    query
        .map(|Query(params)| params)
        .map_err(|rejection| bad_request(format!("the query string does not read: {rejection}")))
}

/// A number parameter, or the 400 naming it.
fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>, Refused> {
    params
        .get(name)
        .map(|text| {
            text.parse::<u64>().map_err(|_| {
                bad_request(format!(
                    "`{name}` is a whole number of at least 0, got '{text}'"
                ))
            })
        })
        .transpose()
}

/// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when not given.
fn limit(params: &HashMap<String, String>) -> Result<usize, Refused> {
    match number(params, "limit")? {
        None => Ok(DEFAULT_LIMIT),
        Some(limit @ 1..) if limit as usize <= MAX_LIMIT => Ok(limit as usize),
        Some(limit) => Err(bad_request(format!(
            "`limit` is from 1 to {MAX_LIMIT}, got {limit}"
        ))),
    }
}

/// Path parameters, or the 400 that says why they do not read.
fn path<T>(extracted: Result<Path<T>, PathRejection>) -> Result<T, Refused> {
    extracted
        .map(|Path(value)| value)
        .map_err(|rejection| bad_request(format!("the path does not read: {rejection}")))
}

impl AdminApi {
    /// Runs one of the runtime's internal handlers (a workflow's admin action, an entity's
    /// state reader) through the dispatcher: its JSON reply, or its error as a problem with
    /// the status it chose.
    async fn call_internal(&self, call: crate::call::Call) -> Result<Value, Refused> {
        let untyped = crate::call::UntypedCall { call, defect: None };
        match self.dispatcher.call(untyped).await {
            crate::outcome::Outcome::Reply { body, .. } => Ok(stored_json(&body)),
            crate::outcome::Outcome::Error(error) => {
                let status = StatusCode::from_u16(error.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Err(problem(status, error.description()))
            }
            crate::outcome::Outcome::Ignore | crate::outcome::Outcome::Stream(_) => Ok(Value::Null),
        }
    }

    /// The keyed component (entity or workflow) storing under `type_id`, or a 404.
    fn keyed(&self, type_id: &str) -> Result<&'static ComponentDescriptor, Refused> {
        self.components
            .iter()
            .copied()
            .find(|component| component.kind.is_entity() && component.type_id == Some(type_id))
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .components
                    .iter()
                    .filter(|c| c.kind.is_entity())
                    .filter_map(|c| c.type_id)
                    .collect();
                not_found(format!(
                    "no entity or workflow stores under the type id '{type_id}'; the service's: {}",
                    known.join(", ")
                ))
            })
    }
}

fn respond(answer: Result<Value, Refused>) -> Response {
    match answer {
        Ok(body) => axum::Json(body).into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// Stored JSON as a value; text that is not JSON as a string (a payload should always be JSON).
fn stored_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// A path segment, percent-encoded.
fn encode(segment: &str) -> String {
    let mut encoded = String::new();
    crate::http_request::percent_encode_segment(segment, &mut encoded);
    encoded
}
