//! Requests into invocations: path parameters, query, forwarded headers and a bounded JSON body.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::problem::problem_response;
use super::response::{StreamFormat, outcome_response};
use super::routes::{RouteTable, RouteTemplate};
use crate::dispatch::{BoundHandler, Dispatcher};
use crate::invocation::{Body, Invocation};
use crate::metadata::Metadata;
use crate::registry::HttpMethod;

/// Limits applied to every request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestLimits {
    pub max_body_bytes: usize,
}

/// The axum handler of one routed component handler.
pub(crate) fn endpoint(
    dispatcher: Arc<Dispatcher>,
    bound: BoundHandler,
    template: Arc<RouteTemplate>,
    limits: RequestLimits,
) -> impl Fn(Request) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    let param_names: Arc<[String]> = template.param_names().into();
    move |request: Request| {
        let dispatcher = Arc::clone(&dispatcher);
        let bound = bound.clone();
        let param_names = Arc::clone(&param_names);
        Box::pin(async move {
            let invocation = match invocation(request, &bound, &param_names, limits).await {
                Ok(invocation) => invocation,
                Err(response) => return *response,
            };
            let format = invocation.1;
            outcome_response(dispatcher.invoke(&bound, invocation.0).await, format)
        })
    }
}

async fn invocation(
    request: Request,
    bound: &BoundHandler,
    param_names: &[String],
    limits: RequestLimits,
) -> Result<(Invocation, StreamFormat), Box<Response>> {
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
    let query = match (bound.handler.reads_query, parts.uri.query()) {
        (true, Some(query)) => form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        _ => Vec::new(),
    };
    let metadata = forwarded_headers(&parts.headers, bound.component.forward_headers);
    let body = if bound.handler.takes_body {
        Body::Bytes(read_json_body(&parts.headers, body, limits).await?)
    } else {
        Body::Absent
    };
    let format = if accepts_event_stream(&parts.headers) {
        StreamFormat::ServerSentEvents
    } else {
        StreamFormat::NdJson
    };
    Ok((Invocation::new(path_params, query, body, metadata), format))
}

fn forwarded_headers(headers: &HeaderMap, allowed: &[&str]) -> Metadata {
    let mut metadata = Metadata::new();
    for &name in allowed {
        for value in headers.get_all(name) {
            if let Ok(value) = value.to_str() {
                metadata.append(name, value);
            }
        }
    }
    metadata
}

async fn read_json_body(
    headers: &HeaderMap,
    body: axum::body::Body,
    limits: RequestLimits,
) -> Result<bytes::Bytes, Box<Response>> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE)
        && !is_json(content_type)
    {
        return Err(Box::new(problem_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!(
                "Content type '{}' is not supported; send 'application/json'",
                String::from_utf8_lossy(content_type.as_bytes())
            ),
        )));
    }
    let too_large = || {
        Box::new(problem_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "Request body is larger than the limit of {} bytes",
                limits.max_body_bytes
            ),
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limits.max_body_bytes).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(error) => Err(Box::new(problem_response(
            StatusCode::BAD_REQUEST,
            &format!("Request body could not be read: {error}"),
        ))),
    }
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
                .route
                .and_then(|route| route.params.iter().find(|(param, _)| *param == name))
                .map_or("text", |(_, type_name)| type_name);
            Some(crate::invocation::missing_path_param(name, type_name))
        });
        let response = match missing {
            Some(detail) => problem_response(StatusCode::BAD_REQUEST, &detail),
            None => problem_response(
                StatusCode::NOT_FOUND,
                &format!("Could not find path: {path}"),
            ),
        };
        std::future::ready(response.into_response())
    }
}
