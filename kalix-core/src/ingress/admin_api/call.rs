//! `POST /admin/call`: a request sent through the service's own router (the console's forms).

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::*;

/// The most bytes of a reply `POST /admin/call` returns (a stream is cut there).
const MAX_CALL_REPLY: usize = 1 << 20;
/// How long `POST /admin/call` waits for a reply (a stream is cut then).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A request the console sends through the service's router.
#[derive(serde::Deserialize)]
pub(super) struct RouteCall {
    method: String,
    /// The path and query, e.g. `/cart/c1?verbose=true`.
    path: String,
    /// A JSON body, if the route takes one.
    #[serde(default)]
    body: Option<Value>,
}

pub(super) async fn call_route(
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
