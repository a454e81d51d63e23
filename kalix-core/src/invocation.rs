//! The arguments of one handler call, as text and JSON, and their typed extraction.
//!
//! Every failure here is the caller's fault and becomes a 400 whose description names the
//! parameter and what was expected.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::CallError;
use crate::metadata::Metadata;
use crate::status::ErrorCode;
use crate::url_param::UrlParam;

/// The raw arguments of a handler call: path parameters and query values as text, the body as
/// JSON, and the metadata. The generated dispatch code turns them into the handler's typed
/// arguments.
#[derive(Clone, Debug, Default)]
pub struct Invocation {
    path_params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Body,
    metadata: Metadata,
    /// Whether a client outside the service sent it (the HTTP or gRPC ingress), not a handler
    /// or the runtime.
    from_client: bool,
}

/// A JSON body, either as received bytes (HTTP) or as an already parsed value (component client).
#[derive(Clone, Debug, Default)]
pub(crate) enum Body {
    #[default]
    Absent,
    Bytes(Bytes),
    /// Shared, so an invocation kept for running a command again is a cheap clone.
    Value(std::sync::Arc<serde_json::Value>),
}

impl Invocation {
    pub(crate) fn new(
        path_params: Vec<(String, String)>,
        query: Vec<(String, String)>,
        body: Body,
        metadata: Metadata,
    ) -> Self {
        Self {
            path_params,
            query,
            body,
            metadata,
            from_client: false,
        }
    }

    /// The invocation marked as sent by a client outside the service (the ingress does).
    pub(crate) fn sent_by_client(mut self) -> Self {
        self.from_client = true;
        self
    }

    /// Whether a client outside the service sent it.
    pub(crate) fn is_sent_by_client(&self) -> bool {
        self.from_client
    }

    /// Parses the path parameter `name` as `T`; `type_name` is how the error names the type.
    pub fn path_param<T: UrlParam>(&self, name: &str, type_name: &str) -> Result<T, CallError> {
        let raw = self
            .path_params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| bad_request(missing_path_param(name, type_name)))?;
        T::from_url(raw).ok_or_else(|| {
            bad_request(format!(
                "Path parameter '{name}' must be of type {type_name}, received '{raw}'"
            ))
        })
    }

    /// Parses the required query parameter `name` as `T`.
    pub fn query_required<T: UrlParam>(&self, name: &str, type_name: &str) -> Result<T, CallError> {
        match self.query_optional(name, type_name)? {
            Some(value) => Ok(value),
            None => Err(bad_request(format!(
                "Required request parameter is missing: {name}"
            ))),
        }
    }

    /// Parses the optional query parameter `name` as `T` (its first value, if repeated).
    pub fn query_optional<T: UrlParam>(
        &self,
        name: &str,
        type_name: &str,
    ) -> Result<Option<T>, CallError> {
        self.query_values(name)
            .next()
            .map(|raw| parse_query(name, raw, type_name))
            .transpose()
    }

    /// Parses every value of the repeated query parameter `name` as `T`.
    pub fn query_all<T: UrlParam>(&self, name: &str, type_name: &str) -> Result<Vec<T>, CallError> {
        self.query_values(name)
            .map(|raw| parse_query(name, raw, type_name))
            .collect()
    }

    fn query_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of the forwarded header `name`, which the caller must send.
    pub fn header_required(&self, name: &str) -> Result<String, CallError> {
        self.header_optional(name)
            .ok_or_else(|| bad_request(format!("Required request header is missing: {name}")))
    }

    /// The value of the forwarded header `name`, if sent.
    pub fn header_optional(&self, name: &str) -> Option<String> {
        self.metadata.get(name).map(str::to_owned)
    }

    /// Decodes a gRPC method's request message `T` (its proto3 JSON): the body, or an empty
    /// object without one (or with an empty one), with the query values and then the path
    /// parameters of an HTTP request transcoded to the method set as the fields of their names,
    /// as text (proto3 JSON reads numbers and enums from text). A path parameter wins over a
    /// query value or a body field of the same field, under either of its JSON names.
    pub fn message<T: DeserializeOwned>(&mut self, type_name: &str) -> Result<T, CallError> {
        let body = std::mem::take(&mut self.body);
        let empty = match &body {
            Body::Absent => true,
            Body::Bytes(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
            Body::Value(_) => false,
        };
        if self.path_params.is_empty() && self.query.is_empty() && !empty {
            self.body = body;
            return self.body(type_name);
        }
        let mut message = match body {
            _ if empty => serde_json::Value::Object(Default::default()),
            Body::Bytes(bytes) => serde_json::from_slice(&bytes)
                .map_err(|error| bad_request(format!("Malformed JSON body: {error}")))?,
            Body::Value(value) => value.as_ref().clone(),
            Body::Absent => serde_json::Value::Object(Default::default()),
        };
        let Some(fields) = message.as_object_mut() else {
            return Err(bad_request(format!(
                "The body of a {type_name} is a JSON object"
            )));
        };
        for (name, value) in self.query.iter().chain(&self.path_params) {
            // One value per field, under either of its JSON names (`cart_id`, `cartId`).
            let camel = lower_camel(name);
            fields.retain(|key, _| key != name && *key != camel && lower_camel(key) != camel);
            fields.insert(name.clone(), serde_json::Value::String(value.clone()));
        }
        // The fields came from the path and the query too: the error names the request.
        serde_path_to_error::deserialize(&message).map_err(|error| {
            let error = invalid_body(error, type_name);
            let description =
                error
                    .description()
                    .replacen("Invalid JSON body for", "Invalid request for", 1);
            CallError::new(error.error_code(), description)
        })
    }

    /// Decodes the JSON body as `T`; errors name the path of the offending field.
    pub fn body<T: DeserializeOwned>(&mut self, type_name: &str) -> Result<T, CallError> {
        match std::mem::take(&mut self.body) {
            Body::Absent => Err(bad_request(format!(
                "Request body is missing; expected a JSON {type_name}"
            ))),
            Body::Bytes(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Err(bad_request(
                format!("Request body is missing; expected a JSON {type_name}"),
            )),
            Body::Bytes(bytes) => {
                let mut json = serde_json::Deserializer::from_slice(&bytes);
                let value = serde_path_to_error::deserialize(&mut json)
                    .map_err(|error| invalid_body(error, type_name))?;
                json.end()
                    .map_err(|error| bad_request(format!("Malformed JSON body: {error}")))?;
                Ok(value)
            }
            Body::Value(value) => serde_path_to_error::deserialize(&*value)
                .map_err(|error| invalid_body(error, type_name)),
        }
    }

    /// The call's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The metadata, to change (a trigger puts its span's trace context in).
    pub(crate) fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Marks who made the call (the ingress does, once it has checked them).
    pub(crate) fn set_caller(
        &mut self,
        (principals, claims): (crate::access::Principals, crate::access::JwtClaims),
    ) {
        self.metadata.set_caller(principals, claims);
    }

    /// The path parameters, as text.
    pub(crate) fn path_params(&self) -> &[(String, String)] {
        &self.path_params
    }

    /// The query values, as text.
    pub(crate) fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// The body as JSON text (an empty one if there is none): as received, or serialized.
    pub(crate) fn body_json(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.body {
            Body::Absent => std::borrow::Cow::Borrowed(&[]),
            Body::Bytes(bytes) => std::borrow::Cow::Borrowed(bytes),
            Body::Value(value) => {
                std::borrow::Cow::Owned(serde_json::to_vec(&**value).unwrap_or_default())
            }
        }
    }

    /// Takes the metadata out, for the handler's context.
    pub fn take_metadata(&mut self) -> Metadata {
        std::mem::take(&mut self.metadata)
    }
}

/// What the caller is told when path parameter `name` of type `type_name` is empty or absent.
pub(crate) fn missing_path_param(name: &str, type_name: &str) -> String {
    format!("Path parameter '{name}' is missing; expected a value of type {type_name}")
}

fn parse_query<T: UrlParam>(name: &str, raw: &str, type_name: &str) -> Result<T, CallError> {
    T::from_url(raw).ok_or_else(|| {
        bad_request(format!(
            "Request parameter '{name}' must be of type {type_name}, received '{raw}'"
        ))
    })
}

/// `cart_id` as proto3 JSON names the field by default: `cartId`.
fn lower_camel(name: &str) -> String {
    let mut camel = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            camel.extend(c.to_uppercase());
            upper = false;
        } else {
            camel.push(c);
        }
    }
    camel
}

fn invalid_body(
    error: serde_path_to_error::Error<serde_json::Error>,
    type_name: &str,
) -> CallError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return bad_request(format!("Malformed JSON body: {inner}"));
    }
    if path == "." {
        bad_request(format!("Invalid JSON body for {type_name}: {inner}"))
    } else {
        bad_request(format!(
            "Invalid JSON body for {type_name}: field `{path}`: {inner}"
        ))
    }
}

fn bad_request(description: String) -> CallError {
    CallError::new(ErrorCode::BAD_REQUEST, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cart {
        #[serde(alias = "cartId")]
        cart_id: Option<String>,
        name: Option<String>,
    }

    fn transcoded(body: Body, path: &[(&str, &str)], query: &[(&str, &str)]) -> Invocation {
        let owned = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        Invocation::new(owned(path), owned(query), body, Metadata::new())
    }

    #[test]
    fn a_path_parameter_wins_over_the_query_and_the_body() {
        let body = Body::Bytes(Bytes::from_static(br#"{"cartId":"from-body","name":"n"}"#));
        let cart: Cart = transcoded(
            body,
            &[("cart_id", "from-path")],
            &[("cartId", "from-query")],
        )
        .message("Cart")
        .unwrap();
        assert_eq!(cart.cart_id.as_deref(), Some("from-path"));
        assert_eq!(cart.name.as_deref(), Some("n"));
        let unknown = transcoded(Body::Absent, &[("cart_id", "c")], &[("bogus", "1")])
            .message::<Cart>("Cart")
            .unwrap_err();
        assert!(
            unknown
                .description()
                .starts_with("Invalid request for Cart: field `bogus`"),
            "{unknown}"
        );
    }

    #[test]
    fn an_empty_body_is_an_empty_message() {
        for body in [Body::Absent, Body::Bytes(Bytes::from_static(b"  "))] {
            let cart: Cart = transcoded(body, &[], &[]).message("Cart").unwrap();
            assert_eq!(
                cart,
                Cart {
                    cart_id: None,
                    name: None
                }
            );
        }
        let cart: Cart = transcoded(Body::Bytes(Bytes::new()), &[("cart_id", "c")], &[])
            .message("Cart")
            .unwrap();
        assert_eq!(cart.cart_id.as_deref(), Some("c"));
        let not_an_object = transcoded(
            Body::Bytes(Bytes::from_static(b"[1]")),
            &[("cart_id", "c")],
            &[],
        )
        .message::<Cart>("Cart")
        .unwrap_err();
        assert!(
            not_an_object.description().contains("JSON object"),
            "{not_an_object}"
        );
    }

    fn with_body(json: &str) -> Invocation {
        Invocation::new(
            vec![],
            vec![],
            Body::Bytes(Bytes::from(json.to_owned())),
            Metadata::new(),
        )
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        quantity: u32,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Order {
        items: Vec<Item>,
    }

    #[test]
    fn a_mistyped_nested_field_is_named_by_its_path() {
        let error = with_body(r#"{"items":[{"name":"a","quantity":"x"}]}"#)
            .body::<Order>("Order")
            .unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(
            error.description().contains("field `items[0].quantity`"),
            "{}",
            error.description()
        );
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = with_body(r#"{"name":"a"}"#)
            .body::<Item>("Item")
            .unwrap_err();
        assert!(
            error.description().contains("missing field `quantity`"),
            "{}",
            error.description()
        );
    }

    #[test]
    fn malformed_json_and_trailing_garbage_are_rejected() {
        let error = with_body(r#"{"name":"#).body::<Item>("Item").unwrap_err();
        assert!(error.description().starts_with("Malformed JSON body"));
        let error = with_body(r#"{"name":"a","quantity":1} x"#)
            .body::<Item>("Item")
            .unwrap_err();
        assert!(error.description().starts_with("Malformed JSON body"));
    }

    #[test]
    fn path_and_query_parameters_parse_by_type() {
        let invocation = Invocation::new(
            vec![("n".into(), "12".into()), ("empty".into(), String::new())],
            vec![
                ("q".into(), "1".into()),
                ("q".into(), "2".into()),
                ("b".into(), "x".into()),
            ],
            Body::Absent,
            Metadata::new(),
        );
        assert_eq!(invocation.path_param::<u8>("n", "u8").unwrap(), 12);
        let error = invocation.path_param::<bool>("n", "bool").unwrap_err();
        assert_eq!(
            error.description(),
            "Path parameter 'n' must be of type bool, received '12'"
        );
        assert!(invocation.path_param::<String>("empty", "String").is_err());
        assert_eq!(invocation.query_all::<u8>("q", "u8").unwrap(), vec![1, 2]);
        assert_eq!(invocation.query_optional::<u8>("none", "u8").unwrap(), None);
        assert_eq!(
            invocation
                .query_required::<u8>("none", "u8")
                .unwrap_err()
                .description(),
            "Required request parameter is missing: none"
        );
        assert!(invocation.query_optional::<bool>("b", "bool").is_err());
    }
}
