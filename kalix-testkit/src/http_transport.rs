//! A component-client transport that reaches a service over HTTP.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use kalix_core::{Call, CallError, ComponentClient, ErrorCode, Transport};

/// Sends component-client calls to a running service over HTTP, so the same generated clients
/// work from outside the service (tests, tools, another process).
///
/// Each call becomes the request its handler's route describes: path parameters in the path,
/// query values in the query string, the body as JSON, metadata as headers. A non-2xx answer
/// becomes a [`CallError`] with the status and the problem body's `detail`.
///
/// ```no_run
/// # async fn example() {
/// let client = kalix_testkit::HttpTransport::client("http://127.0.0.1:9000");
/// # }
/// ```
pub struct HttpTransport {
    base_url: String,
    http: reqwest::Client,
}

impl HttpTransport {
    /// A transport to the service at `base_url` (`http://host:port`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// A component client over a new transport to `base_url`.
    pub fn client(base_url: impl Into<String>) -> ComponentClient {
        ComponentClient::new(Arc::new(Self::new(base_url)))
    }
}

impl Transport for HttpTransport {
    fn execute(self: Arc<Self>, call: Call) -> BoxFuture<'static, Result<bytes::Bytes, CallError>> {
        Box::pin(async move {
            let request = kalix_core::HttpRequest::of(&call)?;
            let method =
                reqwest::Method::from_bytes(request.method.as_bytes()).expect("a valid method");
            let mut builder = self.http.request(
                method,
                format!("{}{}", self.base_url, request.path_and_query),
            );
            for (key, value) in call.metadata().iter() {
                builder = builder.header(key, value);
            }
            if let Some(body) = call.body() {
                builder = builder.json(body);
            }
            let unreachable = |error: reqwest::Error| {
                CallError::new(
                    ErrorCode::SERVICE_UNAVAILABLE,
                    format!("{} could not be reached: {error}", call.target()),
                )
            };
            let response = builder.send().await.map_err(unreachable)?;
            let status = response.status();
            let body = response.bytes().await.map_err(unreachable)?;
            if status.is_success() {
                return Ok(body);
            }
            let detail = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|problem| {
                    problem
                        .get("detail")
                        .and_then(|d| d.as_str())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            Err(CallError::from_status(status.as_u16(), detail))
        })
    }
}
