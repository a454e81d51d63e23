//! What a call to a component is, independent of how it travels: [`Call`], a plain value. Its
//! typed, not-yet-executed form is the client's [`DeferredCall`](crate::DeferredCall); its HTTP
//! form is [`HttpRequest`](crate::HttpRequest).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::CallError;
use crate::metadata::Metadata;

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

    /// The value of path parameter `name` (an entity's id is the one its `id` option names).
    ///
    /// ```
    /// let call = kalix_core::Call::new("cart", "get").with_path_param("cart_id", "c1");
    /// assert_eq!(call.path_param("cart_id"), Some("c1"));
    /// assert_eq!(call.path_param("other"), None);
    /// ```
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
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

    /// The metadata, to change (the runtime adds the caller's trace context).
    pub(crate) fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Adds `metadata` to the call's metadata, replacing the values of keys it sets.
    pub(crate) fn merge_metadata(&mut self, metadata: Metadata) {
        self.metadata.merge(metadata);
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

/// The fields of a [`Call`], moved out for the dispatcher.
pub(crate) struct CallParts {
    pub component: String,
    pub method: String,
    pub path_params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    pub metadata: Metadata,
}

/// A call described now to be made later, by a timer: a [`DeferredCall`](crate::DeferredCall).
///
/// Sealed: the runtime's calls are the only ones.
pub trait TimerCall: sealed::Sealed {
    /// The call, or why it could not be described (its body did not serialize): a timer with
    /// such a call is refused where it is started, not stored without its body.
    fn into_call(self) -> Result<Call, CallError>;
}

pub(crate) mod sealed {
    /// Keeps [`TimerCall`](super::TimerCall) to the runtime's own calls.
    pub trait Sealed {}
}

/// A call whose reply type has been forgotten: what forwards and side effects carry.
#[derive(Clone, Debug)]
pub(crate) struct UntypedCall {
    pub call: Call,
    pub defect: Option<CallError>,
}
