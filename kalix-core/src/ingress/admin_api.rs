//! The admin API (JSON, on the admin listener under `/admin/`): what runs in the service and
//! what it keeps. Components and their routes, subscriptions and topics; an entity type's
//! recently changed ids, an entity's state, an event-sourced entity's events; pending timers;
//! a workflow's record, and suspending, resuming or terminating it.
//!
//! Every list is bounded (`limit`, at most [`MAX_LIMIT`]) and every store read times out
//! ([`STORE_TIMEOUT`]); bad input gets a problem+json 400, an unknown type or id a 404.
//! Workflow actions run as commands of the workflow, one at a time with its other commands,
//! durable before the reply, and are logged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use serde_json::{Value, json};

use super::problem::problem_response;
use crate::call::{Call, UntypedCall};
use crate::dispatch::Dispatcher;
use crate::outcome::Outcome;
use crate::registry::{ComponentDescriptor, ComponentKind, PublishTarget};
use crate::store::{EntityRows, Store, StoreError, TimerFilter};

/// The most bytes of a reply `POST /admin/call` returns (a stream is cut there).
const MAX_CALL_REPLY: usize = 1 << 20;
/// How long `POST /admin/call` waits for a reply (a stream is cut then).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

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
        .route("/admin/components", get(components))
        .route("/admin/entities/{type_id}", get(recent_entities))
        .route("/admin/entities/{type_id}/{id}", get(entity))
        .route("/admin/entities/{type_id}/{id}/events", get(events))
        .route("/admin/timers", get(timers))
        .route("/admin/workflows/{type_id}/{id}", get(workflow))
        .route("/admin/workflows/{type_id}/{id}/{action}", post(administer))
        .route("/admin/call", post(call_route))
        .route("/admin/consumers", get(consumers))
        .route("/admin/views", get(views))
        .route("/admin/views/{table}/rebuild", post(rebuild_view))
        .route("/admin/topics/{topic}/dead-letters", get(dead_letters))
        .route(
            "/admin/topics/{topic}/dead-letters/{message_id}/redeliver",
            post(redeliver),
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

async fn components(State(api): Api) -> Response {
    let components: Vec<Value> = api.components.iter().map(|c| describe(c)).collect();
    axum::Json(json!({ "components": components })).into_response()
}

/// A component as `/admin/components` lists it.
fn describe(component: &ComponentDescriptor) -> Value {
    let mut routes = Vec::new();
    let mut subscriptions = Vec::new();
    let mut topics = Vec::new();
    let mut streams = Vec::new();
    for handler in component.handlers {
        // The runtime's own handlers (a workflow's resume, timeout, admin) are not listed.
        if handler.name.starts_with("__kalix_") {
            continue;
        }
        if let Some(route) = handler.route() {
            routes.push(json!({
                "method": route.method.as_str(),
                "path": route.template,
                "handler": handler.name,
            }));
        }
        if let Some(subscription) = handler.subscription() {
            subscriptions.push(json!({
                "handler": handler.name,
                "entity": subscription.component,
                "type_id": subscription.type_id,
                "deletes": subscription.handles_deletes,
            }));
        }
        if let Some(subscription) = handler.topic_subscription() {
            let mut described = json!({ "handler": handler.name, "type": subscription.type_name });
            match subscription.service {
                Some(service) => {
                    described["stream"] = subscription.topic.into();
                    described["service"] = service.into();
                }
                None => described["topic"] = subscription.topic.into(),
            }
            subscriptions.push(described);
        }
        match handler.publish {
            Some(PublishTarget::Topic(topic)) => {
                topics.push(json!({ "handler": handler.name, "topic": topic }))
            }
            Some(PublishTarget::Stream(stream)) => {
                streams.push(json!({ "handler": handler.name, "stream": stream }))
            }
            None => {}
        }
    }
    json!({
        "id": component.id,
        "kind": component.kind.as_str(),
        "type_id": component.type_id,
        "description": component.doc,
        "routes": routes,
        "subscriptions": subscriptions,
        "publishes_to_topics": topics,
        "publishes_to_streams": streams,
    })
}

/// Where an entity kind keeps what it is.
fn rows_of(kind: ComponentKind) -> EntityRows {
    match kind {
        ComponentKind::EventSourcedEntity => EntityRows::Journal,
        _ => EntityRows::State,
    }
}

async fn recent_entities(
    State(api): Api,
    type_id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Response {
    let answer = async {
        let type_id = path(type_id)?;
        let limit = limit(&params(query)?)?;
        let component = api.keyed(&type_id)?;
        let ids = read(
            api.store
                .recent_entities(&type_id, rows_of(component.kind), limit),
        )
        .await?;
        Ok::<_, Refused>(json!({
            "type_id": type_id,
            "component": component.id,
            "kind": component.kind.as_str(),
            "ids": ids,
        }))
    };
    respond(answer.await)
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

async fn entity(State(api): Api, ids: Result<Path<(String, String)>, PathRejection>) -> Response {
    let answer = async {
        let (type_id, id) = path(ids)?;
        let component = api.keyed(&type_id)?;
        let mut body = json!({
            "type_id": type_id,
            "id": id,
            "component": component.id,
            "kind": component.kind.as_str(),
        });
        match component.kind {
            ComponentKind::EventSourcedEntity => {
                let last_seq = read(api.store.last_seq(&type_id, &id)).await?;
                if last_seq == 0 {
                    return Err(not_found(format!("{type_id} '{id}' has no events")));
                }
                // The state is the user's event handlers' fold of the events; this API has
                // the events, not the handlers.
                body["seq"] = last_seq.into();
                body["events"] = format!(
                    "/admin/entities/{}/{}/events",
                    encode(&type_id),
                    encode(&id)
                )
                .into();
            }
            _ => {
                let stored = read(api.store.load(&type_id, &id)).await?;
                let Some(stored) = stored else {
                    return Err(not_found(format!("{type_id} '{id}' was never written")));
                };
                body["version"] = stored.version.into();
                body["deleted"] = stored.payload.is_none().into();
                body["state"] = stored.payload.as_deref().map_or(Value::Null, stored_json);
            }
        }
        Ok(body)
    };
    respond(answer.await)
}

/// A path segment, percent-encoded.
fn encode(segment: &str) -> String {
    let mut encoded = String::new();
    crate::http_request::percent_encode_segment(segment, &mut encoded);
    encoded
}

async fn events(
    State(api): Api,
    ids: Result<Path<(String, String)>, PathRejection>,
    query: Params,
) -> Response {
    let answer = async {
        let (type_id, id) = path(ids)?;
        let params = params(query)?;
        let limit = limit(&params)?;
        let from = number(&params, "from")?.unwrap_or(1).max(1);
        let component = api.keyed(&type_id)?;
        if component.kind != ComponentKind::EventSourcedEntity {
            return Err(bad_request(format!(
                "{} is a {}, which keeps no events; GET /admin/entities/{type_id}/<id> has its state",
                component.id,
                component.kind.as_str()
            )));
        }
        let page = read(api.store.events_page(&type_id, &id, from, limit)).await?;
        let next = (page.len() == limit).then(|| page.last().map(|e| e.seq + 1));
        let events: Vec<Value> = page
            .iter()
            .map(|event| {
                json!({
                    "seq": event.seq,
                    "type": event.type_name,
                    "event": stored_json(&event.payload),
                })
            })
            .collect();
        Ok(json!({
            "type_id": type_id,
            "id": id,
            "from": from,
            "events": events,
            "next_from": next.flatten(),
        }))
    };
    respond(answer.await)
}

async fn timers(State(api): Api, query: Params) -> Response {
    let answer = async {
        let params = params(query)?;
        let limit = limit(&params)?;
        let failing = match params.get("failing").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(bad_request(format!(
                    "`failing` is true or false, got '{other}'"
                )));
            }
        };
        let filter = TimerFilter {
            name_prefix: params.get("name").cloned(),
            due_before_ms: number(&params, "due_before")?,
            failing,
        };
        let timers = read(api.store.find_timers(filter, limit)).await?;
        let timers: Vec<Value> = timers
            .iter()
            .map(|timer| {
                let call = stored_json(&timer.call);
                json!({
                    "name": timer.name,
                    "due_ms": timer.due_ms,
                    "target": { "component": call["component"], "method": call["method"] },
                    "attempts": timer.attempts,
                    "max_retries": timer.max_retries,
                    "runtime": timer.name.starts_with("kalix."),
                })
            })
            .collect();
        Ok(json!({ "timers": timers }))
    };
    respond(answer.await)
}

impl AdminApi {
    /// The workflow storing under `type_id`, or a 404.
    fn workflow(&self, type_id: &str) -> Result<&'static ComponentDescriptor, Refused> {
        let component = self.keyed(type_id)?;
        if component.kind != ComponentKind::Workflow {
            return Err(not_found(format!(
                "{} is a {}, not a workflow",
                component.id,
                component.kind.as_str()
            )));
        }
        Ok(component)
    }

    /// A workflow's stored record, as `GET /admin/workflows/<type_id>/<id>` shows it.
    async fn workflow_record(&self, type_id: &str, id: &str) -> Result<Value, Refused> {
        let component = self.workflow(type_id)?;
        let Some(stored) = read(self.store.load(type_id, id)).await? else {
            return Err(not_found(format!(
                "workflow {type_id} '{id}' was never started"
            )));
        };
        let record = stored.payload.as_deref().map_or(Value::Null, stored_json);
        let position = &record["position"];
        Ok(json!({
            "type_id": type_id,
            "id": id,
            "component": component.id,
            "version": stored.version,
            "state": record["state"],
            "position": position,
            "ended": position["status"] == "ended",
            "suspended": record["suspended"].as_bool().unwrap_or(false),
            "transitions": record["run"],
        }))
    }
}

async fn workflow(State(api): Api, ids: Result<Path<(String, String)>, PathRejection>) -> Response {
    let answer = async {
        let (type_id, id) = path(ids)?;
        api.workflow_record(&type_id, &id).await
    };
    respond(answer.await)
}

async fn administer(
    State(api): Api,
    headers: http::HeaderMap,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let answer = async {
        from_operator(&headers)?;
        let (type_id, id, action) = path(ids)?;
        let component = api.workflow(&type_id)?;
        if crate::host::workflow::AdminAction::parse(&action).is_none() {
            return Err(not_found(format!(
                "no workflow action '{action}': suspend, resume or terminate"
            )));
        }
        let call = Call::new(component.id, crate::host::workflow::ADMIN)
            .with_path_param("id", id.clone())
            .with_path_param("action", action);
        let changed = match api
            .dispatcher
            .call(UntypedCall { call, defect: None })
            .await
        {
            Outcome::Reply { body, .. } => stored_json(&body),
            Outcome::Error(error) => {
                let status = StatusCode::from_u16(error.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Err(problem(status, error.description()));
            }
            Outcome::Ignore | Outcome::Stream(_) => Value::Null,
        };
        let mut body = api.workflow_record(&type_id, &id).await?;
        body["changed"] = changed;
        Ok(body)
    };
    respond(answer.await)
}

/// A request the console sends through the service's router.
#[derive(serde::Deserialize)]
struct RouteCall {
    method: String,
    /// The path and query, e.g. `/cart/c1?verbose=true`.
    path: String,
    /// A JSON body, if the route takes one.
    #[serde(default)]
    body: Option<Value>,
}

async fn call_route(
    State(api): Api,
    headers: http::HeaderMap,
    request: Result<axum::Json<RouteCall>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let answer = async {
        from_operator(&headers)?;
        let axum::Json(call) = request
            .map_err(|rejection| bad_request(format!("the call does not read: {rejection}")))?;
        let method = http::Method::from_bytes(call.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| bad_request(format!("'{}' is not an HTTP method", call.method)))?;
        if !call.path.starts_with('/') {
            return Err(bad_request(format!(
                "the path starts with '/', got '{}'",
                call.path
            )));
        }
        let mut builder = http::Request::builder().method(method).uri(&call.path);
        let body = match &call.body {
            Some(body) => {
                builder = builder.header(http::header::CONTENT_TYPE, "application/json");
                axum::body::Body::from(body.to_string())
            }
            None => axum::body::Body::empty(),
        };
        let request = builder
            .body(body)
            .map_err(|error| bad_request(format!("the request cannot be made: {error}")))?;
        let response = tower::ServiceExt::oneshot(api.service.clone(), request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        // A stream has no end: what came within the time and size limits is shown.
        let limited = http_body_util::Limited::new(response.into_body(), MAX_CALL_REPLY);
        let bytes =
            match tokio::time::timeout(CALL_TIMEOUT, http_body_util::BodyExt::collect(limited))
                .await
            {
                Ok(Ok(collected)) => collected.to_bytes(),
                Ok(Err(_)) | Err(_) => {
                    bytes::Bytes::from_static(b"(the reply was cut: too long, or still streaming)")
                }
            };
        let body = serde_json::from_slice::<Value>(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(json!({ "status": status, "content_type": content_type, "body": body }))
    };
    respond(answer.await)
}

/// What a consumer is, from its name: the runtime names them by what they read.
fn consumer_kind(name: &str) -> &'static str {
    if name.starts_with("view:") {
        "view"
    } else if name.starts_with("topic:") {
        "topic"
    } else if name.starts_with("stream:") {
        "stream"
    } else if name.starts_with("process:") {
        "process"
    } else if name.contains('@') {
        "subscription"
    } else {
        "other"
    }
}

/// A consumer as `/admin/consumers` and `/admin/views` show it: from the store (its saved
/// position, its lease) and from this process (whether it runs it here, its lag at its last
/// read, its last failure).
fn consumer_json(name: &str, stored: Option<&crate::store::ConsumerRecord>) -> Value {
    let seen = crate::eventing::board::seen(name);
    json!({
        "name": name,
        "kind": consumer_kind(name),
        "position": stored.and_then(|c| c.offset).map(|offset| json!({
            "transaction": offset.transaction,
            "position": offset.position,
        })),
        "lease": stored.and_then(|c| c.lease).map(|lease| json!({
            "owner": format!("{:016x}", lease.owner),
            "expires_in_ms": lease.expires_in_ms,
        })),
        "this_process": seen.map(|seen| json!({
            "runs_it": seen.held_here,
            "lag_events": seen.lag_events,
            "lag_seconds": seen.lag_seconds,
            "last_error": seen.last_error.map(|(at_ms, error)| json!({
                "at_ms": at_ms,
                "error": error,
            })),
        })),
    })
}

async fn consumers(State(api): Api, query: Params) -> Response {
    let answer = async {
        let limit = limit(&params(query)?)?;
        let stored = read(api.store.consumers(limit)).await?;
        let mut consumers: Vec<Value> = stored
            .iter()
            .map(|consumer| consumer_json(&consumer.name, Some(consumer)))
            .collect();
        // Those this process runs that saved nothing yet (stuck on their first message, say).
        let unsaved = crate::eventing::board::names()
            .into_iter()
            .filter(|name| !stored.iter().any(|c| &c.name == name));
        for name in unsaved {
            if consumers.len() == limit {
                break;
            }
            consumers.push(consumer_json(&name, None));
        }
        Ok(json!({ "consumers": consumers }))
    };
    respond(answer.await)
}

async fn views(State(api): Api) -> Response {
    let answer = async {
        let stored = read(api.store.consumers(MAX_LIMIT)).await?;
        let views: Vec<Value> = crate::registry::registered_views()
            .iter()
            .map(|view| {
                let name = format!("view:{}", view.table);
                let consumer = stored.iter().find(|c| c.name == name);
                let source = match view.source.topic {
                    Some(topic) => json!({
                        "topic": topic.topic,
                        "service": topic.service,
                    }),
                    None => json!({
                        "entity": view.source.component,
                        "type_id": view.source.type_id,
                        "kind": match view.source.kind {
                            crate::registry::SubscriptionSource::ValueEntity => "value_entity",
                            crate::registry::SubscriptionSource::EventSourcedEntity => "event_sourced_entity",
                        },
                    }),
                };
                json!({
                    "table": view.table,
                    "component": view.component,
                    "source": source,
                    "updater": consumer_json(&name, consumer),
                })
            })
            .collect();
        Ok(json!({ "views": views }))
    };
    respond(answer.await)
}

impl AdminApi {
    /// Up to `limit` messages of `topic`'s dead-letter topic, oldest first, read by a consumer
    /// group of the admin API's own that never saves a position.
    async fn dead_lettered(
        &self,
        topic: &str,
        limit: usize,
    ) -> Result<Vec<crate::store::StoredMessage>, Refused> {
        let dead_letters = format!("{topic}{}", crate::eventing::DEAD_LETTER_SUFFIX);
        let mut reader = self
            .dispatcher
            .broker()
            .reader(&dead_letters, "kalix-admin");
        read(reader.read(limit)).await
    }
}

async fn dead_letters(
    State(api): Api,
    topic: Result<Path<String>, PathRejection>,
    query: Params,
) -> Response {
    let answer = async {
        let topic = path(topic)?;
        let limit = limit(&params(query)?)?;
        let messages = api.dead_lettered(&topic, limit).await?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|stored| {
                let message = &stored.message;
                let attributes: serde_json::Map<String, Value> = message
                    .attributes
                    .iter()
                    .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                    .collect();
                json!({
                    "id": message.id,
                    "attributes": attributes,
                    "body": stored_json(&message.payload),
                })
            })
            .collect();
        Ok(json!({ "topic": topic, "dead_letters": messages }))
    };
    respond(answer.await)
}

/// The attribute a dead letter carries saying why it was moved.
const DEAD_LETTER_REASON: &str = "kalix-dead-letter-reason";

async fn redeliver(
    State(api): Api,
    headers: http::HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let answer = async {
        from_operator(&headers)?;
        let (topic, id) = path(ids)?;
        let messages = api.dead_lettered(&topic, MAX_LIMIT).await?;
        let Some(stored) = messages.into_iter().find(|stored| stored.message.id == id) else {
            return Err(not_found(format!(
                "no dead letter '{id}' among the first {MAX_LIMIT} of topic '{topic}'"
            )));
        };
        // A new id: the topic keeps the first delivery's id and would drop the same one again.
        let mut message = stored.message;
        let redelivered = format!("{id}~redelivered-{}", uuid::Uuid::new_v4().simple());
        message.id = redelivered.clone();
        message
            .attributes
            .retain(|(name, _)| name != DEAD_LETTER_REASON);
        for (name, value) in &mut message.attributes {
            if name == crate::metadata::Metadata::CE_ID {
                value.clone_from(&redelivered);
            }
        }
        read(api.dispatcher.broker().publish(&topic, message)).await?;
        tracing::warn!(
            topic,
            dead_letter = id,
            redelivered_as = redelivered,
            "an operator redelivered a dead letter through the admin API"
        );
        Ok(json!({ "topic": topic, "dead_letter": id, "redelivered_as": redelivered }))
    };
    respond(answer.await)
}

async fn rebuild_view(
    State(api): Api,
    headers: http::HeaderMap,
    table: Result<Path<String>, PathRejection>,
) -> Response {
    let answer = async {
        from_operator(&headers)?;
        let table = path(table)?;
        let views = crate::registry::registered_views();
        let Some(view) = views.iter().find(|view| view.table == table) else {
            let tables: Vec<&str> = views.iter().map(|view| view.table).collect();
            return Err(not_found(format!(
                "no view keeps the table '{table}'; the service's: {}",
                tables.join(", ")
            )));
        };
        if view.source.topic.is_some() {
            return Err(bad_request(format!(
                "the view table '{table}' is fed by a topic or stream, which may no longer hold \
                 its first messages: it cannot be built again from its source"
            )));
        }
        let name = format!("view:{}", view.table);
        let runs_here = crate::eventing::board::seen(&name).is_some_and(|seen| seen.held_here);
        if !runs_here {
            return Err(problem(
                StatusCode::CONFLICT,
                format!(
                    "the updater of view table '{table}' does not run in this process now \
                     (another process holds its lease, or it has not started): ask the admin \
                     listener of the process that runs it"
                ),
            ));
        }
        let heard = api.view_rebuilds.request(view.table);
        api.view_news.notify_waiters();
        match tokio::time::timeout(STORE_TIMEOUT, heard).await {
            Ok(Ok(Ok(()))) => Ok(json!({ "table": table, "rebuilding": true })),
            Ok(Ok(Err(error))) => Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the view could not be emptied: {error}"),
            )),
            Ok(Err(_)) => Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the view's updater stopped before it got to the rebuild",
            )),
            Err(_) => Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the view's updater did not get to the rebuild within {} s (it is in the \
                     middle of a batch, retrying an update that fails?); it will when it does",
                    STORE_TIMEOUT.as_secs()
                ),
            )),
        }
    };
    respond(answer.await)
}
