//! What a call to a component is, independent of how it travels: [`Call`], and its typed,
//! not-yet-executed form [`DeferredCall`].

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::ComponentClient;
use crate::error::CallError;
use crate::metadata::Metadata;
use crate::registry::RouteSegment;
use crate::status::ErrorCode;

/// A serializable description of one call to one handler of one component.
///
/// HTTP requests, component-client calls, forwards and side effects all become a `Call` (or the
/// same fields) before the dispatcher runs them, so every trigger behaves alike. Path parameters
/// and query values are carried as text, exactly as they would appear in a URL; the body is JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    component: String,
    method: String,
    path_params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    metadata: Metadata,
}

impl Call {
    /// A call to `method` of the component whose id is `component`, with no arguments yet.
    pub fn new(component: impl Into<String>, method: impl Into<String>) -> Self {
        Self {
            component: component.into(),
            method: method.into(),
            path_params: Vec::new(),
            query: Vec::new(),
            body: None,
            metadata: Metadata::new(),
        }
    }

    /// Adds a path parameter.
    #[must_use]
    pub fn with_path_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.path_params.push((name.into(), value.into()));
        self
    }

    /// Adds a query value (a repeated parameter is added once per value).
    #[must_use]
    pub fn with_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets the JSON body.
    #[must_use]
    pub fn with_body(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Replaces the metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// The id of the component called (for an action, its Rust path, e.g. `fibonacci::FibonacciAction`).
    pub fn component(&self) -> &str {
        &self.component
    }

    /// The name of the handler method called.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path parameters, by name, as text.
    pub fn path_params(&self) -> &[(String, String)] {
        &self.path_params
    }

    /// The query values, by name, as text.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// The JSON body, if the handler takes one.
    pub fn body(&self) -> Option<&serde_json::Value> {
        self.body.as_ref()
    }

    /// The body decoded as `T`.
    pub fn body_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.body.clone().unwrap_or(serde_json::Value::Null))
    }

    /// The metadata sent with the call.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// `component::method`, for messages.
    pub fn target(&self) -> String {
        format!("{}::{}", self.component, self.method)
    }

    /// The HTTP request that makes this call: the handler's method, and its route with the path
    /// parameters filled in (percent-encoded) and the query appended. Fails if the handler is not
    /// registered in this binary or has no route.
    pub fn http_request(&self) -> Result<HttpRequest, CallError> {
        let route = crate::registry::route_of(&self.component, &self.method).ok_or_else(|| {
            CallError::new(
                ErrorCode::NOT_FOUND,
                format!("{} has no HTTP route in this binary", self.target()),
            )
        })?;
        let mut path = String::new();
        for segment in route.segments {
            path.push('/');
            match *segment {
                RouteSegment::Param(name) => {
                    let value = self
                        .path_params
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value)
                        .ok_or_else(|| {
                            CallError::new(
                                ErrorCode::BAD_REQUEST,
                                format!("the call to {} has no value for `{name}`", self.target()),
                            )
                        })?;
                    percent_encode_segment(value, &mut path);
                }
                RouteSegment::Literal(text) => path.push_str(text),
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        if !self.query.is_empty() {
            path.push('?');
            path.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&self.query)
                    .finish(),
            );
        }
        Ok(HttpRequest {
            method: route.method.as_str(),
            path_and_query: path,
        })
    }

    pub(crate) fn into_parts(self) -> CallParts {
        CallParts {
            component: self.component,
            method: self.method,
            path_params: self.path_params,
            query: self.query,
            body: self.body,
            metadata: self.metadata,
        }
    }
}

/// The HTTP form of a [`Call`]: see [`Call::http_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// The path with its parameters filled in, and the query string if any.
    pub path_and_query: String,
}

/// Appends `value` to `path`, percent-encoding all but the unreserved characters (RFC 3986).
fn percent_encode_segment(value: &str, path: &mut String) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            path.push(byte as char);
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// The fields of a [`Call`], moved out for the dispatcher.
pub(crate) struct CallParts {
    pub component: String,
    pub method: String,
    pub path_params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    pub metadata: Metadata,
}

/// A call to a component that has been described but not run; `R` is the type of its reply.
///
/// Generated component clients return one per handler. `.await` it to run the call and get the
/// reply (`Result<R, CallError>`), or hand it to [`crate::action::Effect::forward`] or
/// [`crate::action::SideEffect::of`].
///
/// ```no_run
/// # use kalix_core::prelude::*;
/// # #[derive(Default)] pub struct Echo;
/// # #[action] impl Echo {
/// #     #[get("/echo/<word>")]
/// #     async fn echo(&self, word: String) -> action::Effect<String> { action::Effect::reply(word) }
/// # }
/// # async fn example(client: ComponentClient) -> Result<(), CallError> {
/// let call = client.action::<Echo>().echo("hi".to_string());
/// let reply: String = call.with_metadata(Metadata::new().add("Role", "Admin")).await?;
/// # Ok(()) }
/// ```
#[must_use = "a DeferredCall does nothing until it is awaited, forwarded or used as a side effect"]
pub struct DeferredCall<R> {
    call: Call,
    defect: Option<CallError>,
    client: ComponentClient,
    reply: PhantomData<fn() -> R>,
}

impl<R> DeferredCall<R> {
    /// A deferred call that `client` will run when awaited.
    pub fn new(call: Call, client: ComponentClient) -> Self {
        Self {
            call,
            defect: None,
            client,
            reply: PhantomData,
        }
    }

    /// A call that could not be described (for example a body that failed to serialize); running
    /// it yields `error`.
    pub fn failed(call: Call, client: ComponentClient, error: CallError) -> Self {
        Self {
            defect: Some(error),
            ..Self::new(call, client)
        }
    }

    /// Adds `metadata` to the call's metadata, replacing the values of keys it sets (values set
    /// by the call's own header parameters stay unless `metadata` sets the same key).
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.call.metadata.merge(metadata);
        self
    }

    /// The description of the call.
    pub fn call(&self) -> &Call {
        &self.call
    }

    pub(crate) fn into_untyped(self) -> UntypedCall {
        UntypedCall {
            call: self.call,
            defect: self.defect,
        }
    }
}

impl<R> std::fmt::Debug for DeferredCall<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredCall")
            .field("call", &self.call)
            .field("defect", &self.defect)
            .finish()
    }
}

/// A call whose reply type has been forgotten: what forwards and side effects carry.
#[derive(Clone, Debug)]
pub(crate) struct UntypedCall {
    pub call: Call,
    pub defect: Option<CallError>,
}

impl<R: DeserializeOwned + Send + 'static> IntoFuture for DeferredCall<R> {
    type Output = Result<R, CallError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<R, CallError>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            if let Some(defect) = self.defect {
                return Err(defect);
            }
            let target = self.call.target();
            let reply = self.client.execute(self.call).await?;
            serde_json::from_slice(&reply).map_err(|error| {
                CallError::new(
                    ErrorCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "the reply of {target} is not a valid {}: {error}",
                        std::any::type_name::<R>()
                    ),
                )
            })
        })
    }
}
